@testable import BearerProxy
import BearerTLS
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
import BearerSync
#endif

/// An in-process OAuth2 token endpoint (RFC 6749 §4.4, client credentials) that authenticates the
/// client the way a real server does for each method: the Basic header with form-encoded id and
/// secret (§2.3.1), the form secret, a client assertion's signature and claims (RFC 7523 §3), or
/// the TLS client certificate (RFC 8705; the server context demands one). It also serves discovery
/// metadata, counts requests, records the tokens it issued, and can reject or answer slowly.
/// Runs on its own one-loop group, so a delay blocks only it.
final class TestTokenEndpoint: Sendable {
    enum Behaviour: Sendable {
        /// 200 with a fresh JWT-looking token valid for `expiresIn` seconds.
        case issue(expiresIn: Int)
        /// 401 invalid_client, whatever the credentials.
        case rejectClient
        /// `status` with `Retry-After`, then normal service.
        case fail(status: Int)
    }

    /// How the client must authenticate.
    enum Authentication: Sendable {
        case basic
        case post
        case clientSecretJWT
        case privateKeyJWT(publicKeyPEM: String, algorithm: JWSAlgorithm, keyID: String?)
        /// The TLS handshake already checked the certificate; the body must name the client.
        case tlsClientAuth
        /// A federated credential: the assertion is a JWT of another issuer (a workload identity
        /// issuer), checked against its key, issuer, subject and audience, for the client named
        /// by `client_id`, as Entra ID and Keycloak do.
        case federated(issuer: String, subject: String, audience: String, publicKeyPEM: String)
    }

    /// What the handler and the test share; guarded by its own locks (Locked) and Atomic.
    private final class State: Sendable {
        let behaviour = Locked<Behaviour>(.issue(expiresIn: 300))
        let secret: Locked<String>
        let issued = Locked<[String]>([])
        let requests = Locked<[LocalRequest]>([])
        let rejections = Locked<[String]>([])
        let seenJWTIDs = Locked<Set<String>>([])
        let delayMilliseconds = Atomic<Int>(0)
        let metadataIssuer = Locked<String?>(nil)
        /// Set: token requests must carry a valid DPoP proof, and get DPoP-bound tokens.
        let dpop = Locked<DPoPChecker?>(nil)
        init(secret: String) { self.secret = Locked(secret) }
    }

    let clientID: String
    private let server: LocalHTTPServer
    private let state: State

    var port: UInt16 { server.address.port }
    var issuer: String { "https://localhost:\(port)" }
    /// Number of token requests received (discovery requests not counted).
    var requestCount: Int { state.requests.withLock { $0.count } }
    var requests: [LocalRequest] { state.requests.withLock { $0 } }
    /// Why requests were refused as invalid_client, in order.
    var rejections: [String] { state.rejections.withLock { $0 } }
    /// Access tokens handed out, in order.
    var issuedTokens: [String] { state.issued.withLock { $0 } }
    var clientSecret: String { state.secret.withLock { $0 } }

    init(tlsContext: TLSContext, clientID: String, clientSecret: String, authentication: Authentication = .basic,
         authMethodsSupported: [String] = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "tls_client_auth"]) throws {
        self.clientID = clientID
        let state = State(secret: clientSecret)
        self.state = state
        let group = EventLoopGroup(count: 1, label: "itest.token")
        let portBox = Locked<UInt16>(0)
        server = try LocalHTTPServer(listen: SocketAddress(ip: "127.0.0.1", port: 0)!, group: group, tlsContext: tlsContext, label: "itest.token") { request in
            let base = "https://localhost:\(portBox.withLock { $0 })"
            if request.method == "GET", request.target == "/.well-known/openid-configuration" {
                let issuer = state.metadataIssuer.withLock { $0 } ?? base
                let methods = authMethodsSupported.map { "\"\($0)\"" }.joined(separator: ",")
                return .json(200, #"{"issuer":"\#(issuer)","token_endpoint":"\#(base)/oauth2/token","token_endpoint_auth_methods_supported":[\#(methods)]}"#)
            }
            state.requests.withLock { $0.append(request) }
            let pause = state.delayMilliseconds.load(ordering: .relaxed)
            if pause > 0 { usleep(UInt32(pause) * 1000) }
            switch state.behaviour.withLock({ $0 }) {
            case .rejectClient:
                return .json(401, #"{"error":"invalid_client"}"#)
            case .fail(let status):
                state.behaviour.withLock { $0 = .issue(expiresIn: 300) }
                return .json(status, #"{"error":"temporarily_unavailable"}"#, extraFields: [("Retry-After", "1")])
            case .issue(let expiresIn):
                let form = Self.form(request.body)
                let dpop = state.dpop.withLock { $0 }
                if let dpop {
                    switch dpop.check(request, method: "POST", url: "\(base)/oauth2/token", token: nil) {
                    case .accepted: break
                    case .needsNonce:
                        // RFC 9449 §8: the server's nonce, asked for with 400 use_dpop_nonce.
                        return .json(400, #"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#,
                                     extraFields: [("DPoP-Nonce", dpop.nonce.withLock { $0 } ?? "")])
                    case .refused(let why):
                        state.rejections.withLock { $0.append("DPoP: \(why)") }
                        return .json(400, #"{"error":"invalid_dpop_proof","error_description":"\#(why)"}"#)
                    }
                }
                if let problem = Self.authenticate(request, form: form, clientID: clientID, secret: state.secret.withLock { $0 },
                                                   authentication: authentication, audience: "\(base)/oauth2/token", state: state) {
                    state.rejections.withLock { $0.append(problem) }
                    return .json(401, #"{"error":"invalid_client","error_description":"\#(problem)"}"#)
                }
                guard request.method == "POST", form["grant_type"] == ["client_credentials"] else {
                    return .json(400, #"{"error":"unsupported_grant_type"}"#)
                }
                // The scope asked for, in the token, so a test can tell which configuration fetched it.
                let scope = form["scope"]?.first.map { "-scope-" + $0.replacingOccurrences(of: " ", with: "+") } ?? ""
                // With tls_client_auth the token is bound to the certificate the client presented
                // (RFC 8705 §3.1), as Keycloak and others do for certificate-bound tokens.
                let jwtID = "itest-jti-\(UInt32.random(in: 0...UInt32.max))"
                var claims = #"{"jti":"\#(jwtID)","sub":"itest"}"#
                if case .tlsClientAuth = authentication, let thumbprint = request.clientCertificateSHA256 {
                    claims = #"{"cnf":{"x5t#S256":"\#(Base64URL.encode(thumbprint))"},"jti":"\#(jwtID)","sub":"itest"}"#
                }
                let payload = Base64URL.encode(Array(claims.utf8))
                let token = state.issued.withLock { issued in
                    // Header and payload are real base64url JSON; the tail makes each token distinctive.
                    let token = "eyJhbGciOiJub25lIn0.\(payload).itest-token-\(issued.count + 1)\(scope)-\(UInt32.random(in: 0...UInt32.max))"
                    issued.append(token)
                    return token
                }
                return .json(200, #"{"access_token":"\#(token)","token_type":"\#(dpop == nil ? "Bearer" : "DPoP")","expires_in":\#(expiresIn)}"#,
                             extraFields: [("Cache-Control", "no-store")])
            }
        }
        portBox.withLock { $0 = server.address.port }
    }

    /// nil when the client authenticated correctly, else why not.
    private static func authenticate(
        _ request: LocalRequest, form: [String: [String]], clientID: String, secret: String,
        authentication: Authentication, audience: String, state: State
    ) -> String? {
        let authorization = request.values(of: "authorization")
        switch authentication {
        case .basic:
            // RFC 6749 §2.3.1, encoded here with Foundation's percent-encoder, independently of the proxy's.
            let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
            let pair = clientID.addingPercentEncoding(withAllowedCharacters: unreserved)! + ":" + secret.addingPercentEncoding(withAllowedCharacters: unreserved)!
            return authorization == ["Basic " + Data(pair.utf8).base64EncodedString()] ? nil : "bad Basic credentials"
        case .post:
            guard authorization.isEmpty else { return "unexpected Authorization" }
            return form["client_id"] == [clientID] && form["client_secret"] == [secret] ? nil : "bad form credentials"
        case .tlsClientAuth:
            guard authorization.isEmpty, form["client_secret"] == nil else { return "unexpected secret" }
            return form["client_id"] == [clientID] ? nil : "no client_id"
        case .federated(let issuer, let subject, let audience, let pem):
            guard authorization.isEmpty, form["client_secret"] == nil else { return "unexpected secret" }
            guard form["client_id"] == [clientID] else { return "no client_id" }
            guard form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                  let assertion = form["client_assertion"]?.first else { return "no client assertion" }
            let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let signature = Base64URL.decode(parts[2]), let jwt = JWTInspection(assertion),
                  let verifier = try? JWSVerifier(publicKeyPEM: pem),
                  verifier.verify(signature, of: Array("\(parts[0]).\(parts[1])".utf8), algorithm: .es256) else {
                return "bad federated assertion signature"
            }
            guard jwt.claims["iss"]?.string == issuer, jwt.claims["sub"]?.string == subject else { return "bad federated iss/sub" }
            guard (jwt.claims["aud"]?.strings ?? []).contains(audience) else { return "bad federated aud" }
            guard let exp = jwt.number("exp"), exp > Date().timeIntervalSince1970 else { return "expired federated assertion" }
            return nil
        case .clientSecretJWT, .privateKeyJWT:
            guard form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                  let assertion = form["client_assertion"]?.first else { return "no client assertion" }
            let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let signature = Base64URL.decode(parts[2]), let jwt = JWTInspection(assertion) else {
                return "malformed assertion"
            }
            let input = Array("\(parts[0]).\(parts[1])".utf8)
            switch authentication {
            case .clientSecretJWT:
                guard jwt.header["alg"]?.string == "HS256",
                      CryptoPrimitives.hmacSHA256(key: Array(secret.utf8), data: input) == signature else { return "bad HS256 signature" }
            case .privateKeyJWT(let pem, let algorithm, let keyID):
                guard jwt.header["alg"]?.string == algorithm.rawValue, jwt.header["kid"]?.string == keyID,
                      let verifier = try? JWSVerifier(publicKeyPEM: pem),
                      verifier.verify(signature, of: input, algorithm: algorithm) else { return "bad \(algorithm.rawValue) signature" }
            default:
                break
            }
            // RFC 7523 §3: iss = sub = client_id, aud = token endpoint, exp in the future and short, jti not replayed.
            let now = Date().timeIntervalSince1970
            guard jwt.claims["iss"]?.string == clientID, jwt.claims["sub"]?.string == clientID else { return "bad iss/sub" }
            guard jwt.claims["aud"]?.string == audience else { return "bad aud" }
            guard let exp = jwt.number("exp"), let iat = jwt.number("iat"), exp > now, exp - iat <= 300, abs(iat - now) < 60 else { return "bad exp/iat" }
            guard let jti = jwt.claims["jti"]?.string, state.seenJWTIDs.withLock({ $0.insert(jti).inserted }) else { return "replayed jti" }
            return nil
        }
    }

    /// application/x-www-form-urlencoded body, decoded (both `+` and `%20` as space).
    static func form(_ body: [UInt8]) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            result[decode(parts[0]), default: []].append(parts.count > 1 ? decode(parts[1]) : "")
        }
        return result
    }

    /// From now on, token requests need a DPoP proof that `checker` accepts (RFC 9449 §5).
    func requireDPoP(_ checker: DPoPChecker) {
        state.dpop.withLock { $0 = checker }
    }

    func behave(_ behaviour: Behaviour) {
        state.behaviour.withLock { $0 = behaviour }
    }

    func delayAnswers(milliseconds: Int) {
        state.delayMilliseconds.store(milliseconds, ordering: .relaxed)
    }

    /// The secret the endpoint accepts from now on (rotation on the server side).
    func rotateSecret(to secret: String) {
        state.secret.withLock { $0 = secret }
    }

    /// Makes discovery answer with another issuer (to test the mismatch check).
    func claimIssuer(_ issuer: String) {
        state.metadataIssuer.withLock { $0 = issuer }
    }

    func close() {
        server.close()
    }
}
