import BearerTLS

/// `token.dpop`: sender-constrained tokens with DPoP (RFC 9449). The token request and every
/// upstream request carry a proof signed with this key; the token is bound to it.
public struct DPoPConfig: Sendable, Equatable {
    public static let keys = ["key_file", "algorithm"]

    /// PEM private key (RSA 2048 bits or more, or EC P-256), absolute path; nil: a key is made at
    /// start and kept in memory only (P-256 for ES256, RSA 2048 for RS256 and PS256).
    public var keyFile: String?
    public var algorithm: JWSAlgorithm

    public init(keyFile: String? = nil, algorithm: JWSAlgorithm = .es256) {
        self.keyFile = keyFile
        self.algorithm = algorithm
    }

    static func load(_ section: ConfigMapping, files: ConfigFiles) throws(ConfigError) -> DPoPConfig {
        let algorithm = try section.value("algorithm") { text throws(InvalidValue) in
            guard let algorithm = JWSAlgorithm(rawValue: text) else { throw InvalidValue("must be ES256, PS256 or RS256") }
            return algorithm
        } ?? .es256
        guard let path = try section.string("key_file") else { return DPoPConfig(algorithm: algorithm) }
        let (resolved, key) = try section.signingKey(path, key: "key_file", files: files)
        guard key.supports(algorithm) else {
            throw section.error("algorithm", "\(algorithm.rawValue) does not fit the \(key.keyType.rawValue) key in key_file")
        }
        return DPoPConfig(keyFile: resolved, algorithm: algorithm)
    }
}

extension ConfigMapping {
    /// The PEM private key at `path` (named by `key`), resolved and parsed to fail at load; it is
    /// read again when used. Errors give only OpenSSL's reason, never the file's contents.
    func signingKey(_ path: String, key: String, files: ConfigFiles) throws(ConfigError) -> (path: String, key: JWSSigningKey) {
        let resolved = files.resolve(path)
        switch ConfigFiles.contents(of: resolved, limit: SizeLimits.pemFile) {
        case .failure(let failure):
            throw error(key, failure.message)
        case .success(let contents):
            do {
                return (resolved, try JWSSigningKey(pem: String(decoding: contents, as: UTF8.self)))
            } catch {
                throw self.error(key, "\(resolved) is not a usable RSA or EC P-256 PEM private key (\(error.reason))")
            }
        }
    }
}
