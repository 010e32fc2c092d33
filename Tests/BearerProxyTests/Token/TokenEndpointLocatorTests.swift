import Foundation
import Synchronization
import Testing
@testable import BearerProxy
import BearerSync

/// Discovery (OIDC Discovery §4, RFC 8414 §3) against a scripted transport.
@Suite("Token endpoint discovery")
struct TokenEndpointLocatorTests {
    static let issuer = try! EndpointURL.parse("https://auth.example.com/realms/acme", role: .endpoint)

    static func response(_ status: Int, _ body: String, fields: String = "") -> BufferedHTTPClient.Response {
        let head = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\n\(fields)\r\n"
        let parsed = try! Array(head.utf8).withUnsafeBytes { try HeadParser.parseResponseHead($0, limits: .default) }!
        return BufferedHTTPClient.Response(head: parsed.0, body: Array(body.utf8))
    }

    static func document(issuer: String = "https://auth.example.com/realms/acme",
                         endpoint: String = "https://auth.example.com/realms/acme/protocol/openid-connect/token",
                         methods: String? = #"["client_secret_basic","private_key_jwt"]"#) -> String {
        var text = #"{"issuer":"\#(issuer)","token_endpoint":"\#(endpoint)""#
        if let methods { text += #","token_endpoint_auth_methods_supported":\#(methods)"# }
        return text + "}"
    }

    /// A locator whose transport answers from `answers` by path and records what was asked.
    final class Script: Sendable {
        let answers: [String: Result<BufferedHTTPClient.Response, BufferedHTTPClient.Failure>]
        let asked = Locked<[String]>([])
        init(_ answers: [String: Result<BufferedHTTPClient.Response, BufferedHTTPClient.Failure>]) { self.answers = answers }

        func locator(method: ClientAuthMethod = .clientSecretBasic, clock: TokenClock = .system) -> TokenEndpointLocator {
            TokenEndpointLocator(mode: .discover(issuer: TokenEndpointLocatorTests.issuer, method: method, allowHTTP: false), clock: clock) { url, completion in
                self.asked.withLock { $0.append(url.path) }
                completion(self.answers[url.path] ?? .success(TokenEndpointLocatorTests.response(404, "")))
            }
        }
    }

    static func locate(_ locator: TokenEndpointLocator) -> Result<EndpointURL, TokenError> {
        let result = Locked<Result<EndpointURL, TokenError>?>(nil)
        locator.locate { answer in result.withLock { $0 = answer } }
        return result.withLock { $0! }
    }

    static let oidcPath = "/realms/acme/.well-known/openid-configuration"
    static let oauthPath = "/.well-known/oauth-authorization-server/realms/acme"

    @Test("the OIDC document names the token endpoint when the issuer matches")
    func good() throws {
        let script = Script([Self.oidcPath: .success(Self.response(200, Self.document()))])
        let url = try Self.locate(script.locator()).get()
        #expect(url.description == "https://auth.example.com/realms/acme/protocol/openid-connect/token")
        #expect(script.asked.withLock { $0 } == [Self.oidcPath])
    }

    @Test("without an OIDC document, the RFC 8414 location (well-known inserted before the path) is tried")
    func rfc8414Fallback() throws {
        let script = Script([Self.oauthPath: .success(Self.response(200, Self.document(methods: nil)))])
        let url = try Self.locate(script.locator()).get()
        #expect(url.host == "auth.example.com")
        #expect(script.asked.withLock { $0 } == [Self.oidcPath, Self.oauthPath])
    }

    @Test("an issuer mismatch is refused (RFC 8414 §3.3), naming both issuers")
    func issuerMismatch() {
        let script = Script([Self.oidcPath: .success(Self.response(200, Self.document(issuer: "https://evil.example.com/realms/acme")))])
        guard case .failure(let error) = Self.locate(script.locator()) else { Issue.record("accepted"); return }
        #expect(error == .discovery("metadata issuer \"https://evil.example.com/realms/acme\" does not match the configured issuer https://auth.example.com/realms/acme"))
        #expect(error.kind == .configuration)
    }

    @Test("a trailing slash on the issuer (as Auth0 sends it) still matches")
    func trailingSlash() throws {
        let script = Script([Self.oidcPath: .success(Self.response(200, Self.document(issuer: "https://auth.example.com/realms/acme/")))])
        _ = try Self.locate(script.locator()).get()
    }

    @Test("a method the server does not offer fails early with the methods it does offer")
    func unsupportedMethod() {
        let script = Script([Self.oidcPath: .success(Self.response(200, Self.document(methods: #"["private_key_jwt"]"#)))])
        guard case .failure(let error) = Self.locate(script.locator(method: .clientSecretPost)) else { Issue.record("accepted"); return }
        #expect(error.description == "token endpoint discovery failed: the server does not offer auth_method client_secret_post; "
            + "token_endpoint_auth_methods_supported: private_key_jwt")
    }

    @Test("federated_jwt needs private_key_jwt offered: it is that client authentication on the wire")
    func federatedNeedsPrivateKeyJWT() {
        let offered = Script([Self.oidcPath: .success(Self.response(200, Self.document(methods: #"["private_key_jwt"]"#)))])
        if case .failure(let error) = Self.locate(offered.locator(method: .federatedJWT)) { Issue.record("refused: \(error)") }
        let notOffered = Script([Self.oidcPath: .success(Self.response(200, Self.document(methods: #"["client_secret_basic"]"#)))])
        guard case .failure(let error) = Self.locate(notOffered.locator(method: .federatedJWT)) else { Issue.record("accepted"); return }
        #expect(error.description == "token endpoint discovery failed: the server does not offer auth_method private_key_jwt "
            + "(which federated_jwt uses); token_endpoint_auth_methods_supported: client_secret_basic")
    }

    @Test("absent token_endpoint_auth_methods_supported means client_secret_basic only (RFC 8414 §2)")
    func defaultMethods() {
        let script = Script([Self.oidcPath: .success(Self.response(200, Self.document(methods: nil)))])
        if case .failure = Self.locate(script.locator(method: .clientSecretBasic)) { Issue.record("basic refused") }
        guard case .failure = Self.locate(Script([Self.oidcPath: .success(Self.response(200, Self.document(methods: nil)))]).locator(method: .privateKeyJWT)) else {
            Issue.record("private_key_jwt accepted"); return
        }
    }

    @Test("an http token endpoint in the metadata is refused without insecure_http")
    func httpEndpointRefused() {
        let script = Script([Self.oidcPath: .success(Self.response(200, Self.document(endpoint: "http://auth.example.com/token")))])
        guard case .failure(let error) = Self.locate(script.locator()) else { Issue.record("accepted"); return }
        #expect(error.kind == .configuration)
    }

    @Test("tls_client_auth uses mtls_endpoint_aliases.token_endpoint (RFC 8705 §5)")
    func mtlsAlias() throws {
        let body = #"{"issuer":"https://auth.example.com/realms/acme","token_endpoint":"https://auth.example.com/t","mtls_endpoint_aliases":{"token_endpoint":"https://mtls.auth.example.com/t"},"token_endpoint_auth_methods_supported":["tls_client_auth"]}"#
        let script = Script([Self.oidcPath: .success(Self.response(200, body))])
        #expect(try Self.locate(script.locator(method: .tlsClientAuth)).get().host == "mtls.auth.example.com")
    }

    @Test("a network failure is transient; the metadata is reused for an hour, and a failed refresh keeps the last good endpoint")
    func cachingAndFailures() throws {
        let down = Script([:].merging([Self.oidcPath: .failure(.timedOut(.seconds(1))), Self.oauthPath: .failure(.timedOut(.seconds(1)))]) { a, _ in a })
        guard case .failure(let error) = Self.locate(down.locator()) else { Issue.record("no failure"); return }
        #expect(error.kind == .transient)

        let clock = ManualClock()
        let flaky = FlakyTransport(document: Self.document())
        let locator = TokenEndpointLocator(mode: .discover(issuer: Self.issuer, method: .clientSecretBasic, allowHTTP: false), clock: clock.clock,
                                           transport: flaky.transport)
        _ = try Self.locate(locator).get()
        _ = try Self.locate(locator).get()
        #expect(flaky.calls.load(ordering: .relaxed) == 1)
        clock.advance(.seconds(3601))
        flaky.down.store(true, ordering: .relaxed)
        #expect(try Self.locate(locator).get().path == "/realms/acme/protocol/openid-connect/token")
        #expect(flaky.calls.load(ordering: .relaxed) == 3)
    }

    final class FlakyTransport: Sendable {
        let document: String
        let calls = Atomic<Int>(0)
        let down = Atomic<Bool>(false)
        init(document: String) { self.document = document }

        var transport: TokenEndpointLocator.Transport {
            { _, completion in
                self.calls.add(1, ordering: .relaxed)
                completion(self.down.load(ordering: .relaxed)
                    ? .failure(.timedOut(.seconds(1)))
                    : .success(TokenEndpointLocatorTests.response(200, self.document)))
            }
        }
    }
}

@Suite("Token endpoint answers")
struct TokenAnswerTests {
    @Test("429 with Retry-After is transient and carries the delay; a Date header is read for skew")
    func interpret() {
        let throttled = OAuthTokenFetcher.interpret(.success(TokenEndpointLocatorTests.response(429, "", fields: "Retry-After: 17\r\n")))
        guard case .failure(let error) = throttled else { Issue.record("accepted"); return }
        #expect(error == .rejected(status: 429, error: nil, errorDescription: nil, retryAfterSeconds: 17))
        #expect(error.kind == .transient)
        let ok = OAuthTokenFetcher.interpret(.success(TokenEndpointLocatorTests.response(
            200, #"{"access_token":"abc","token_type":"Bearer","expires_in":60}"#, fields: "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n")))
        #expect((try? ok.get())?.serverDate == 1_700_000_000)
        let empty = OAuthTokenFetcher.interpret(.success(TokenEndpointLocatorTests.response(200, "")))
        guard case .failure(let emptyError) = empty else { Issue.record("empty 200 accepted"); return }
        #expect(emptyError.kind == .transient)
    }

    @Test("Retry-After as an HTTP-date (RFC 9110 §10.2.3)")
    func retryAfterDate() {
        #expect(HTTPDate.retryAfterSeconds("Tue, 14 Nov 2023 22:14:20 GMT", now: 1_700_000_000) == 60)
        #expect(HTTPDate.retryAfterSeconds("soon") == nil)
    }
}
