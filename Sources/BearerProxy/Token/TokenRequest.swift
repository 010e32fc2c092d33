import Foundation

/// The bytes of one client credentials token request (RFC 6749 §4.4.2).
enum TokenRequest {
    struct Parameters: Sendable {
        var endpoint: EndpointURL
        var clientID: String
        var clientSecret: Secret
        var authMethod: ClientAuthMethod
        var scopes: [String]
    }

    static func build(_ parameters: Parameters) -> [UInt8] {
        var form: [(String, String)] = [("grant_type", "client_credentials")]
        if !parameters.scopes.isEmpty {
            form.append(("scope", parameters.scopes.joined(separator: " ")))
        }
        var fields: [(String, String)] = [
            ("Host", parameters.endpoint.authority),
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]
        switch parameters.authMethod {
        case .clientSecretBasic:
            // RFC 6749 §2.3.1: id and secret are form-encoded first, then joined by ":" and base64'd.
            let credentials = FormEncoding.encode(parameters.clientID) + ":" + FormEncoding.encode(parameters.clientSecret.value)
            fields.append(("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString()))
        case .clientSecretPost:
            form.append(("client_id", parameters.clientID))
            form.append(("client_secret", parameters.clientSecret.value))
        }
        let body = Array(FormEncoding.encode(form).utf8)
        fields.append(("Content-Length", String(body.count)))
        fields.append(("Connection", "close"))
        fields.append(("User-Agent", "bearer-proxy/\(BearerProxyVersion.current)"))

        var bytes = Array("POST \(parameters.endpoint.path) HTTP/1.1\r\n".utf8)
        for (name, value) in fields {
            bytes.append(contentsOf: "\(name): \(value)\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        bytes.append(contentsOf: body)
        return bytes
    }
}
