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
        /// client_secret_basic only: how id and secret are written before Base64.
        var basicEncoding: TokenConfig.BasicEncoding = .form
        /// token.dpop: every token request carries a proof made with this key (RFC 9449 §5).
        var dpop: DPoPProver? = nil
        /// token.dpop is set but its key could not be set up: why (every request fails with it).
        var dpopProblem: TokenError? = nil
    }

    /// What authenticates one request, read afresh for it (files may have been rotated).
    struct Credentials: Sendable {
        var secret: Secret?
        var signingKey: JWSSigningKey?
        /// federated_jwt: the assertion as read from its file, sent as it is.
        var assertion: Secret?
    }

    /// The request's bytes, and a scrubber for every form of the credentials they carry.
    struct Prepared: Sendable {
        var bytes: [UInt8]
        /// Applied to all text the token endpoint sends back (see `EchoScrubber`).
        var scrubber: EchoScrubber
    }

    static func build(
        _ parameters: Parameters, endpoint: EndpointURL, credentials: Credentials,
        now: Double, jwtID: String
    ) throws(TokenError) -> [UInt8] {
        try prepare(parameters, endpoint: endpoint, credentials: credentials, now: now, jwtID: jwtID).bytes
    }

    /// `dpopNonce`: the newest `DPoP-Nonce` the token endpoint gave (RFC 9449 §8), for the proof.
    static func prepare(
        _ parameters: Parameters, endpoint: EndpointURL, credentials: Credentials,
        now: Double, jwtID: String, dpopNonce: String? = nil
    ) throws(TokenError) -> Prepared {
        if let problem = parameters.dpopProblem { throw problem }
        var sensitive = credentials.secret.map { EchoScrubber.forms(ofSecret: $0.value) } ?? []
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
            let pair: String
            switch parameters.basicEncoding {
            case .form:
                // RFC 6749 §2.3.1: id and secret are form-encoded first, then joined by ":" and base64'd.
                pair = FormEncoding.encode(parameters.clientID) + ":" + FormEncoding.encode(secret.value)
            case .raw:
                // RFC 7617 §2 as most HTTP clients send it, for servers that do not decode §2.3.1's form.
                pair = parameters.clientID + ":" + secret.value
            }
            sensitive += EchoScrubber.forms(ofBasicPair: pair)
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
            let signed = try assertion.signed(with: signer)
            sensitive += EchoScrubber.forms(ofAssertion: signed)
            form.append(("client_assertion", signed))
        case .tlsClientAuth:
            // RFC 8705 §2.1: the certificate authenticates; client_id says which client it is.
            form.append(("client_id", parameters.clientID))
        case .federatedJWT:
            guard let assertion = credentials.assertion else { throw .credentials("no assertion loaded") }
            // RFC 7523 §2.2, as Entra ID and Keycloak take a federated credential: the assertion
            // authenticates, client_id names the application it stands for.
            form.append(("client_id", parameters.clientID))
            form.append(("client_assertion_type", ClientAssertion.assertionType))
            sensitive += EchoScrubber.forms(ofAssertion: assertion.value)
            form.append(("client_assertion", assertion.value))
        }
        if let dpop = parameters.dpop {
            // RFC 9449 §5: the proof for the token request itself; htu is the endpoint's URL.
            let proof = try dpop.proof(method: "POST", url: endpoint.description, nonce: dpopNonce, now: now)
            sensitive += EchoScrubber.forms(ofAssertion: proof)
            fields.append(("DPoP", proof))
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
        return Prepared(bytes: bytes, scrubber: EchoScrubber(needles: sensitive))
    }

    private static func requireSecret(_ credentials: Credentials) throws(TokenError) -> Secret {
        guard let secret = credentials.secret else { throw .credentials("no client secret loaded") }
        return secret
    }
}
