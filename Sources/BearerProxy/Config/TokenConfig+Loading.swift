import BearerTLS

extension TokenConfig {
    static let keys = [
        "url", "issuer", "client_id", "auth_method", "client_secret_file", "client_secret",
        "private_key_file", "key_id", "signing_alg", "client_cert_file", "client_key_file", "assertion_file",
        "scopes", "audience", "resource", "extra_params",
        "ca_file", "insecure_http", "insecure_skip_verify", "timeout", "refresh_margin", "default_lifetime", "min_request_interval",
        "basic_encoding", "dpop", "shared_cache",
    ]
    /// Secret files hold one line; anything bigger is the wrong file.
    static let maxSecretFileSize = SizeLimits.secretFile
    /// PEM keys and certificate chains are a few KiB.
    static let maxPEMFileSize = SizeLimits.pemFile
    static let maxAssertionFileSize = SizeLimits.assertionFile
    /// Form parameters the proxy sets itself; `extra_params` may not override them silently.
    static let reservedParameters: Set<String> = [
        "grant_type", "scope", "client_id", "client_secret", "client_assertion", "client_assertion_type",
        "audience", "resource",
    ]

    /// `secretVariable` is the environment variable a client secret may come from when the file
    /// names none: `BEARER_PROXY_CLIENT_SECRET` for `token:`, one per profile for `tokens:`.
    static func load(
        _ section: ConfigMapping, files: ConfigFiles, environment: [String: String],
        secretVariable: String = clientSecretEnvironmentVariable
    ) throws(ConfigError) -> TokenConfig {
        let insecureHTTP = try section.bool("insecure_http") ?? false
        let url = try section.value("url") { text throws(InvalidValue) in try EndpointURL.parse(text, role: .endpoint) }
        let issuer = try section.value("issuer") { text throws(InvalidValue) in try EndpointURL.parse(text, role: .endpoint) }
        switch (url, issuer) {
        case (nil, nil):
            throw ConfigError(source: section.source, line: nil, key: section.keyPath("url"),
                              message: "required key is missing (set token.url, or token.issuer for discovery)")
        case (.some, .some):
            throw section.error("issuer", "set either url or issuer, not both")
        default:
            break
        }
        for (key, value) in [("url", url), ("issuer", issuer)] {
            if let value, !value.isTLS, !insecureHTTP {
                throw section.error(key, "must use https (set \(section.keyPath("insecure_http")): true to allow http)")
            }
        }
        if let issuer, issuer.path.contains("?") {
            // RFC 8414 §2: the issuer has no query or fragment components.
            throw section.error("issuer", "must not contain a query (RFC 8414 §2)")
        }

        let clientID = try section.requiredString("client_id")
        guard !clientID.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw section.error("client_id", "must not contain control characters")
        }
        let authMethod = try section.value("auth_method") { text throws(InvalidValue) in
            guard let method = ClientAuthMethod(rawValue: text) else {
                let names = ClientAuthMethod.allCases.map(\.rawValue)
                throw InvalidValue("must be one of \(names.joined(separator: ", "))"
                    + KeySuggestion.hint(for: text, among: names))
            }
            return method
        } ?? .clientSecretBasic

        var secret: Secret?
        var source: SecretSource?
        if authMethod.usesSecret {
            (secret, source) = try loadSecret(section, files: files, environment: environment, variable: secretVariable)
        } else {
            try rejectKeys(["client_secret_file", "client_secret"], in: section, for: authMethod)
        }
        let keyFile = try loadPrivateKeyFile(section, files: files, authMethod: authMethod)
        let (certificateFile, certificateKeyFile) = try loadClientCertificate(section, files: files, authMethod: authMethod)
        let assertionFile = try loadAssertionFile(section, files: files, authMethod: authMethod)

        let scopes = try section.strings("scopes") ?? []
        for (index, scope) in scopes.enumerated() where !isScopeToken(scope) {
            throw ConfigError(
                source: section.source, line: section.line(of: "scopes"), key: section.keyPath("scopes") + "[\(index)]",
                message: "\"\(scope)\" is not a scope token (RFC 6749 §3.3: printable ASCII except space, \" and \\)")
        }
        let resources = try section.strings("resource") ?? []
        for (index, resource) in resources.enumerated() where !isResourceIndicator(resource) {
            throw ConfigError(
                source: section.source, line: section.line(of: "resource"), key: section.keyPath("resource") + "[\(index)]",
                message: "must be an absolute URI without a fragment (RFC 8707 §2)")
        }
        let basicEncoding = try section.value("basic_encoding") { text throws(InvalidValue) in
            guard let value = BasicEncoding(rawValue: text) else {
                let names = BasicEncoding.allCases.map(\.rawValue)
                throw InvalidValue("must be one of \(names.joined(separator: ", "))" + KeySuggestion.hint(for: text, among: names))
            }
            return value
        }
        if basicEncoding != nil, authMethod != .clientSecretBasic {
            throw section.error("basic_encoding", "is not used with auth_method: \(authMethod.rawValue)")
        }
        if basicEncoding == .raw, clientID.contains(":") {
            // RFC 7617 §2: the user-id ends at the first colon, so the server would split it there.
            throw section.error("basic_encoding", "raw cannot carry a client_id that contains \":\" (RFC 7617 §2); use form")
        }
        var dpop: DPoPConfig?
        if let dpopSection = try section.mapping("dpop", allowedKeys: DPoPConfig.keys) {
            dpop = try DPoPConfig.load(dpopSection, files: files)
        }
        var sharedCache: SharedCacheConfig?
        if let cacheSection = try section.mapping("shared_cache", allowedKeys: SharedCacheConfig.keys) {
            sharedCache = try SharedCacheConfig.load(cacheSection, files: files)
        }
        let extra = try section.stringPairs("extra_params") ?? []
        for (name, _) in extra where reservedParameters.contains(name) || name.isEmpty {
            throw section.error("extra_params", "\"\(name)\" is set by bearer-proxy itself; use the matching token key instead")
        }

        return TokenConfig(
            url: url,
            issuer: issuer,
            clientID: clientID,
            clientSecret: secret,
            secretSource: source,
            scopes: scopes,
            authMethod: authMethod,
            privateKeyFile: keyFile?.path,
            keyID: try section.string("key_id"),
            signingAlgorithm: keyFile?.algorithm,
            clientCertificateFile: certificateFile,
            clientKeyFile: certificateKeyFile,
            assertionFile: assertionFile,
            audience: try section.string("audience"),
            resources: resources,
            extraParameters: extra.map { TokenParameter(name: $0.0, value: $0.1) },
            caFile: try section.caFile("ca_file", files: files),
            insecureHTTP: insecureHTTP,
            insecureSkipVerify: try section.bool("insecure_skip_verify") ?? false,
            timeout: try section.duration("timeout") ?? defaultTimeout,
            refreshMargin: try section.duration("refresh_margin", allowZero: true),
            // A shorter lifetime is refused in every token (minimumLifetime), so it could never work.
            defaultLifetime: try section.duration("default_lifetime", atLeast: minimumLifetime) ?? defaultDefaultLifetime,
            minRequestInterval: try section.duration("min_request_interval", allowZero: true) ?? defaultMinRequestInterval,
            basicEncoding: basicEncoding ?? .form,
            dpop: dpop,
            sharedCache: sharedCache)
    }

    /// Keys that belong to another method are an error rather than silently unused.
    private static func rejectKeys(_ keys: [String], in section: ConfigMapping, for method: ClientAuthMethod) throws(ConfigError) {
        for key in keys where section.node(key) != nil {
            throw section.error(key, "is not used with auth_method: \(method.rawValue)")
        }
    }

    /// `private_key_file` must hold an RSA or EC P-256 key; `signing_alg` must suit it.
    /// The key is parsed here only to fail early; it is read again for every assertion.
    private static func loadPrivateKeyFile(
        _ section: ConfigMapping, files: ConfigFiles, authMethod: ClientAuthMethod
    ) throws(ConfigError) -> (path: String, algorithm: JWSAlgorithm)? {
        guard authMethod == .privateKeyJWT else {
            try rejectKeys(["private_key_file", "key_id", "signing_alg"], in: section, for: authMethod)
            return nil
        }
        guard let path = try section.string("private_key_file") else {
            throw ConfigError(source: section.source, line: nil, key: section.keyPath("private_key_file"),
                              message: "required key is missing (auth_method: private_key_jwt signs with this key)")
        }
        let (resolved, key) = try section.signingKey(path, key: "private_key_file", files: files)
        let algorithm = try section.value("signing_alg") { text throws(InvalidValue) in
            guard let algorithm = JWSAlgorithm(rawValue: text) else {
                throw InvalidValue("must be RS256, PS256 or ES256")
            }
            return algorithm
        }
        if let algorithm, !key.supports(algorithm) {
            throw section.error("signing_alg", "\(algorithm.rawValue) does not fit the \(key.keyType.rawValue) key in private_key_file")
        }
        return (resolved, algorithm ?? key.defaultAlgorithm)
    }

    private static func loadClientCertificate(
        _ section: ConfigMapping, files: ConfigFiles, authMethod: ClientAuthMethod
    ) throws(ConfigError) -> (String?, String?) {
        guard authMethod == .tlsClientAuth else {
            try rejectKeys(["client_cert_file", "client_key_file"], in: section, for: authMethod)
            return (nil, nil)
        }
        guard let identity = try section.clientIdentity(
            files: files, purpose: "auth_method: tls_client_auth presents this certificate and key") else {
            throw ConfigError(source: section.source, line: nil, key: section.keyPath("client_cert_file"),
                              message: "required key is missing (auth_method: tls_client_auth presents this certificate and key)")
        }
        return (identity.certificate, identity.key)
    }

    /// federated_jwt: the path only. The file is not read here: the kubelet may write it after the
    /// container starts, and one missing or expired is a state the proxy waits out (not ready,
    /// 503 with Retry-After), not a configuration error; `check-config` says how it is now.
    private static func loadAssertionFile(
        _ section: ConfigMapping, files: ConfigFiles, authMethod: ClientAuthMethod
    ) throws(ConfigError) -> String? {
        guard authMethod == .federatedJWT else {
            try rejectKeys(["assertion_file"], in: section, for: authMethod)
            return nil
        }
        guard let path = try section.string("assertion_file"), !path.isEmpty else {
            throw ConfigError(source: section.source, line: nil, key: section.keyPath("assertion_file"),
                              message: "required key is missing (auth_method: federated_jwt sends the JWT in this file, "
                                  + "e.g. a projected service-account token)")
        }
        return files.resolve(path)
    }

    /// `client_secret_file`, else `client_secret`, else the environment; never two in the file.
    /// No message here may contain the secret, so none quotes a value.
    private static func loadSecret(
        _ section: ConfigMapping, files: ConfigFiles, environment: [String: String], variable: String
    ) throws(ConfigError) -> (Secret, SecretSource) {
        let filePath = try section.string("client_secret_file")
        let inline = try section.string("client_secret")
        if filePath != nil, inline != nil {
            throw section.error("client_secret", "set either client_secret_file or client_secret, not both")
        }
        if let filePath {
            let resolved = files.resolve(filePath)
            switch ConfigFiles.contents(of: resolved, limit: maxSecretFileSize) {
            case .failure(let failure):
                throw section.error("client_secret_file", failure.message)
            case .success(let contents):
                guard let text = String(validating: contents, as: UTF8.self) else {
                    throw section.error("client_secret_file", "\(resolved) is not UTF-8 text")
                }
                // `echo secret > file` leaves a newline that is not part of the secret.
                let value = text.trimmingWhitespace()
                guard !value.isEmpty else {
                    throw section.error("client_secret_file", "\(resolved) is empty")
                }
                return (Secret(value), .file(resolved))
            }
        }
        if let inline {
            return (Secret(inline), .inline)
        }
        if let value = environment[variable] {
            guard !value.isEmpty else {
                throw ConfigError(
                    source: section.source, line: nil, key: section.keyPath("client_secret"),
                    message: "environment variable \(variable) is empty")
            }
            return (Secret(value), .environment(variable))
        }
        throw ConfigError(
            source: section.source, line: nil, key: section.keyPath("client_secret"),
            message: "required key is missing (set \(section.keyPath("client_secret_file")), \(section.keyPath("client_secret")), "
                + "or the environment variable \(variable))")
    }

    /// RFC 8707 §2: an absolute URI (scheme ":" ...) that must not include a fragment.
    static func isResourceIndicator(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex, !text.contains("#") else { return false }
        let scheme = text[..<colon]
        return scheme.first!.isLetter && scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
            && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
    }

    /// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
    static func isScopeToken(_ scope: String) -> Bool {
        !scope.isEmpty && scope.unicodeScalars.allSatisfy { scalar in
            (0x21...0x7E).contains(scalar.value) && scalar != "\"" && scalar != "\\"
        }
    }
}
