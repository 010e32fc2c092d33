extension UpstreamConfig {
    static let keys = [
        "url", "ca_file", "insecure_http", "insecure_skip_verify", "client_cert_file", "client_key_file",
        "connect_timeout", "response_timeout", "pool", "retry_unauthorized",
        "replay_body_limit",
    ]
    static let poolKeys = ["max_idle", "idle_timeout"]

    static func load(_ section: ConfigMapping, files: ConfigFiles) throws(ConfigError) -> UpstreamConfig {
        let insecureHTTP = try section.bool("insecure_http") ?? false
        guard let url = try section.value("url", { text throws(InvalidValue) in
            try EndpointURL.parse(text, role: .basePath)
        }) else { throw section.missing("url") }
        try section.requireTLS(url, allowHTTP: insecureHTTP)

        let pool = try section.mapping("pool", allowedKeys: poolKeys)
        let identity = try section.clientIdentity(files: files, purpose: "presents this certificate and key to the upstream")
        if identity != nil, !url.isTLS {
            throw section.error("client_cert_file", "needs an https url: a client certificate is presented in the TLS handshake")
        }
        return UpstreamConfig(
            url: url,
            caFile: try section.caFile("ca_file", files: files),
            insecureSkipVerify: try section.bool("insecure_skip_verify") ?? false,
            clientCertificateFile: identity?.certificate,
            clientKeyFile: identity?.key,
            connectTimeout: try section.duration("connect_timeout") ?? defaultConnectTimeout,
            responseTimeout: try section.duration("response_timeout") ?? defaultResponseTimeout,
            poolMaxIdle: try pool?.integer("max_idle", in: 1...Int.max) ?? defaultPoolMaxIdle,
            poolIdleTimeout: try pool?.duration("idle_timeout") ?? defaultPoolIdleTimeout,
            retryUnauthorized: try section.value("retry_unauthorized") { text throws(InvalidValue) in
                guard let value = RetryUnauthorized(rawValue: text) else {
                    let names = RetryUnauthorized.allCases.map(\.rawValue)
                    throw InvalidValue("must be one of \(names.joined(separator: ", "))" + KeySuggestion.hint(for: text, among: names))
                }
                return value
            } ?? .invalidToken,
            replayBodyLimit: try section.integer("replay_body_limit", in: 0...maxReplayBodyLimit) ?? defaultReplayBodyLimit)
    }
}

extension ConfigMapping {
    /// Plain http only with this section's `insecure_http: true`: the bearer token and
    /// client secret would otherwise cross the network readable by anyone on the path.
    func requireTLS(_ url: EndpointURL, allowHTTP: Bool) throws(ConfigError) {
        guard url.isTLS || allowHTTP else {
            throw error("url", "must use https (set \(keyPath("insecure_http")): true to allow http)")
        }
    }

    /// `client_cert_file` and `client_key_file`, both or neither, each a readable PEM file (a
    /// certificate, a private key), as absolute (resolved) paths. `purpose` ends the message for
    /// a missing one. Checked here to fail at load; read again when used.
    func clientIdentity(files: ConfigFiles, purpose: String) throws(ConfigError) -> (certificate: String, key: String)? {
        let given = ["client_cert_file", "client_key_file"].filter { node($0) != nil }
        guard !given.isEmpty else { return nil }
        var paths: [String] = []
        for (key, marker) in [("client_cert_file", "CERTIFICATE-----"), ("client_key_file", "PRIVATE KEY-----")] {
            guard let path = try string(key) else {
                throw ConfigError(source: source, line: nil, key: keyPath(key), message: "required key is missing (\(purpose))")
            }
            let resolved = files.resolve(path)
            switch ConfigFiles.contents(of: resolved, limit: SizeLimits.pemFile) {
            case .failure(let failure):
                throw error(key, failure.message)
            case .success(let contents):
                guard String(decoding: contents, as: UTF8.self).contains(marker) else {
                    throw error(key, "\(resolved) contains no PEM \(marker.dropLast(5).lowercased())")
                }
            }
            paths.append(resolved)
        }
        return (paths[0], paths[1])
    }

    /// A readable PEM bundle, as an absolute (resolved) path.
    func caFile(_ key: String, files: ConfigFiles) throws(ConfigError) -> String? {
        guard let path = try string(key) else { return nil }
        let resolved = files.resolve(path)
        switch ConfigFiles.contents(of: resolved, limit: SizeLimits.caFile) {
        case .failure(let failure):
            throw error(key, failure.message)
        case .success(let contents):
            // OpenSSL's verify locations take PEM; catch a DER file or a key here, not at first connect.
            guard String(decoding: contents, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                throw error(key, "\(resolved) contains no PEM certificate (-----BEGIN CERTIFICATE-----)")
            }
            return resolved
        }
    }
}
