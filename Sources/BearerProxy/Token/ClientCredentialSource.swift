import BearerTLS

/// Where the client's secret, private key and certificate live. Files are read again for every
/// token request, so a rotated secret (e.g. a Kubernetes secret volume) is used at once; the
/// fingerprint lets `CredentialWatcher` notice a rotation and ask for a new token early.
struct ClientCredentialSource: Sendable {
    var method: ClientAuthMethod
    /// The secret as loaded at startup (used as is for inline and environment secrets).
    var startupSecret: Secret?
    var secretSource: SecretSource?
    var privateKeyFile: String?
    var clientCertificateFile: String?
    var clientKeyFile: String?
    var assertionFile: String?

    init(_ config: TokenConfig) {
        method = config.authMethod
        startupSecret = config.clientSecret
        secretSource = config.secretSource
        privateKeyFile = config.privateKeyFile
        clientCertificateFile = config.clientCertificateFile
        clientKeyFile = config.clientKeyFile
        assertionFile = config.assertionFile
    }

    /// The files whose change means new credentials.
    var watchedFiles: [String] {
        var files: [String] = []
        if method.usesSecret, case .file(let path) = secretSource { files.append(path) }
        if method == .privateKeyJWT, let privateKeyFile { files.append(privateKeyFile) }
        if method == .tlsClientAuth {
            files += [clientCertificateFile, clientKeyFile].compactMap { $0 }
        }
        if method == .federatedJWT, let assertionFile { files.append(assertionFile) }
        return files
    }

    /// SHA-256 over the watched files' contents (an unreadable file counts as empty). Content,
    /// not mtime: Kubernetes swaps a symlink, and some editors keep the mtime.
    func fingerprint() -> [UInt8] {
        CredentialWatcher.fingerprint(of: watchedFiles)
    }

    /// Current credentials; `now` (seconds since 1970) judges a federated assertion's expiry.
    /// Errors name the file and the reason, never its contents.
    func load(now: Double) -> Result<TokenRequest.Credentials, TokenError> {
        var credentials = TokenRequest.Credentials()
        if method == .federatedJWT, let path = assertionFile {
            switch FederatedAssertion.load(from: path, now: now) {
            case .failure(let error): return .failure(error)
            case .success(let assertion): credentials.assertion = assertion.value
            }
        }
        if method.usesSecret {
            if case .file(let path) = secretSource {
                switch ConfigFiles.contents(of: path, limit: TokenConfig.maxSecretFileSize) {
                case .failure(let failure):
                    return .failure(.credentials(failure.message))
                case .success(let contents):
                    let value = String(decoding: contents, as: UTF8.self).trimmingWhitespace()
                    guard !value.isEmpty else { return .failure(.credentials("\(path) is empty")) }
                    credentials.secret = Secret(value)
                }
            } else {
                credentials.secret = startupSecret
            }
        }
        if method == .privateKeyJWT, let path = privateKeyFile {
            switch ConfigFiles.contents(of: path, limit: TokenConfig.maxPEMFileSize) {
            case .failure(let failure):
                return .failure(.credentials(failure.message))
            case .success(let contents):
                do {
                    credentials.signingKey = try JWSSigningKey(pem: String(decoding: contents, as: UTF8.self))
                } catch {
                    return .failure(.credentials("\(path) is not a usable private key: \(error.reason)"))
                }
            }
        }
        return .success(credentials)
    }
}
