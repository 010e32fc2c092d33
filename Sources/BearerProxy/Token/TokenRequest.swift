import BearerTLS
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The bytes of one client credentials token request (RFC 6749 §4.4.2), with the client
/// authentication of `authMethod`. Deterministic for given credentials, time and JWT id, so the
/// wire format can be pinned by golden tests.
enum TokenRequest {
    /// What stays the same from one request to the next (from `token:` in the config).
    struct Parameters: Sendable {
        var clientID: String
        var authMethod: ClientAuthMethod
        var scopes: [String] = []
        var audience: String?
        var resources: [String] = []
        var extraParameters: [TokenParameter] = []
        /// private_key_jwt only.
        var keyID: String?
        var signingAlgorithm: JWSAlgorithm?
    }

    /// What authenticates one request, read afresh for it (files may have been rotated).
    struct Credentials: Sendable {
        var secret: Secret?
        var signingKey: JWSSigningKey?
    }

    static func build(
        _ parameters: Parameters, endpoint: EndpointURL, credentials: Credentials,
        now: Double, jwtID: String
    ) throws(TokenError) -> [UInt8] {
        var form: [(String, String)] = [("grant_type", "client_credentials")]
        if !parameters.scopes.isEmpty {
            // RFC 6749 §3.3: one parameter, scope tokens separated by spaces.
            form.append(("scope", parameters.scopes.joined(separator: " ")))
        }
        if let audience = parameters.audience { form.append(("audience", audience)) }
        // RFC 8707 §2: one `resource` parameter per target.
        for resource in parameters.resources { form.append(("resource", resource)) }
        for extra in parameters.extraParameters { form.append((extra.name, extra.value)) }

        var fields: [(String, String)] = [
            ("Host", endpoint.authority),
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]
        switch parameters.authMethod {
        case .clientSecretBasic:
            let secret = try requireSecret(credentials)
            // RFC 6749 §2.3.1: id and secret are form-encoded first, then joined by ":" and base64'd.
            let pair = FormEncoding.encode(parameters.clientID) + ":" + FormEncoding.encode(secret.value)
            fields.append(("Authorization", "Basic " + Data(pair.utf8).base64EncodedString()))
        case .clientSecretPost:
            let secret = try requireSecret(credentials)
            form.append(("client_id", parameters.clientID))
            form.append(("client_secret", secret.value))
        case .clientSecretJWT, .privateKeyJWT:
            let signer: ClientAssertion.Signer
            if parameters.authMethod == .clientSecretJWT {
                signer = .secret(try requireSecret(credentials))
            } else {
                guard let key = credentials.signingKey else { throw .credentials("no private key loaded") }
                signer = .key(key, parameters.signingAlgorithm ?? key.defaultAlgorithm)
            }
            let assertion = ClientAssertion(
                clientID: parameters.clientID, audience: endpoint.description,
                keyID: parameters.authMethod == .privateKeyJWT ? parameters.keyID : nil,
                issuedAt: Int64(now.rounded(.down)), jwtID: jwtID)
            // RFC 7523 §2.2 / RFC 7521 §4.2; client_id as well, which some servers require.
            form.append(("client_id", parameters.clientID))
            form.append(("client_assertion_type", ClientAssertion.assertionType))
            form.append(("client_assertion", try assertion.signed(with: signer)))
        case .tlsClientAuth:
            // RFC 8705 §2.1: the certificate authenticates; client_id says which client it is.
            form.append(("client_id", parameters.clientID))
        }
        let body = Array(FormEncoding.encode(form).utf8)
        fields.append(("Content-Length", String(body.count)))
        fields.append(("Connection", "close"))
        fields.append(("User-Agent", "bearer-proxy/\(BearerProxyVersion.current)"))

        var bytes = Array("POST \(endpoint.path) HTTP/1.1\r\n".utf8)
        for (name, value) in fields {
            bytes.append(contentsOf: "\(name): \(value)\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        bytes.append(contentsOf: body)
        return bytes
    }

    private static func requireSecret(_ credentials: Credentials) throws(TokenError) -> Secret {
        guard let secret = credentials.secret else { throw .credentials("no client secret loaded") }
        return secret
    }
}
