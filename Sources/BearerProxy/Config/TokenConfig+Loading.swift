import Foundation

extension TokenConfig {
    static let keys = [
        "url", "client_id", "client_secret_file", "client_secret", "scopes", "auth_method",
        "ca_file", "insecure_http", "insecure_skip_verify", "timeout", "refresh_margin", "default_lifetime",
    ]
    /// Secret files hold one line; anything bigger is the wrong file.
    static let maxSecretFileSize = 64 << 10

    static func load(
        _ section: ConfigMapping, files: ConfigFiles, environment: [String: String]
    ) throws(ConfigError) -> TokenConfig {
        let insecureHTTP = try section.bool("insecure_http") ?? false
        guard let url = try section.value("url", { text throws(InvalidValue) in
            try EndpointURL.parse(text, role: .endpoint)
        }) else { throw section.missing("url") }
        try section.requireTLS(url, allowHTTP: insecureHTTP)

        let clientID = try section.requiredString("client_id")
        guard !clientID.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw section.error("client_id", "must not contain control characters")
        }
        let (secret, source) = try loadSecret(section, files: files, environment: environment)

        let scopes = try section.strings("scopes") ?? []
        for (index, scope) in scopes.enumerated() where !isScopeToken(scope) {
            throw ConfigError(
                source: section.source, line: section.line(of: "scopes"), key: section.keyPath("scopes") + "[\(index)]",
                message: "\"\(scope)\" is not a scope token (RFC 6749 §3.3: printable ASCII except space, \" and \\)")
        }

        let authMethod = try section.value("auth_method") { text throws(InvalidValue) in
            guard let method = ClientAuthMethod(rawValue: text) else {
                let names = ClientAuthMethod.allCases.map(\.rawValue)
                throw InvalidValue("must be \(names.joined(separator: " or "))"
                    + KeySuggestion.hint(for: text, among: names))
            }
            return method
        }

        return TokenConfig(
            url: url,
            clientID: clientID,
            clientSecret: secret,
            secretSource: source,
            scopes: scopes,
            authMethod: authMethod ?? .clientSecretBasic,
            caFile: try section.caFile("ca_file", files: files),
            insecureSkipVerify: try section.bool("insecure_skip_verify") ?? false,
            timeout: try section.duration("timeout") ?? defaultTimeout,
            refreshMargin: try section.duration("refresh_margin", allowZero: true),
            defaultLifetime: try section.duration("default_lifetime") ?? defaultDefaultLifetime)
    }

    /// `client_secret_file`, else `client_secret`, else the environment; never two in the file.
    /// No message here may contain the secret, so none quotes a value.
    private static func loadSecret(
        _ section: ConfigMapping, files: ConfigFiles, environment: [String: String]
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
                let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !value.isEmpty else {
                    throw section.error("client_secret_file", "\(resolved) is empty")
                }
                return (Secret(value), .file(resolved))
            }
        }
        if let inline {
            return (Secret(inline), .inline)
        }
        let variable = clientSecretEnvironmentVariable
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
            message: "required key is missing (set token.client_secret_file, token.client_secret, "
                + "or the environment variable \(variable))")
    }

    /// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
    static func isScopeToken(_ scope: String) -> Bool {
        !scope.isEmpty && scope.unicodeScalars.allSatisfy { scalar in
            (0x21...0x7E).contains(scalar.value) && scalar != "\"" && scalar != "\\"
        }
    }
}
