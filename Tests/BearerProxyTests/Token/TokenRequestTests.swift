import BearerTLS
import Foundation
import Testing
@testable import BearerProxy

/// Golden tests: the exact bytes of every kind of token request. A dropped scope, a reordered
/// parameter or a mis-encoded secret changes the bytes and fails here.
@Suite("TokenRequest wire format")
struct TokenRequestTests {
    static let endpoint = EndpointURL(scheme: "https", host: "auth.example.com", port: 443, path: "/oauth2/token")
    static let tail = "Connection: close\r\nUser-Agent: bearer-proxy/\(BearerProxyVersion.current)\r\n\r\n"

    static func build(
        _ parameters: TokenRequest.Parameters, secret: String? = nil, key: JWSSigningKey? = nil
    ) throws -> String {
        let bytes = try TokenRequest.build(
            parameters, endpoint: endpoint,
            credentials: .init(secret: secret.map(Secret.init), signingKey: key),
            now: 1_700_000_000.75, jwtID: "jti-1")
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("client_secret_basic form-encodes id and secret before base64 (RFC 6749 §2.3.1): ':', '+', '%', space, non-ASCII")
    func basicEncoding() throws {
        var parameters = TokenRequest.Parameters(clientID: "my:app+1 é", authMethod: .clientSecretBasic)
        parameters.scopes = ["urn:scope_1", "urn:scope_2"]
        let text = try Self.build(parameters, secret: "p%ss wörd:+/=")
        let body = "grant_type=client_credentials&scope=urn%3Ascope_1%20urn%3Ascope_2"
        // Expected value computed independently: base64(quote(id) + ":" + quote(secret)).
        #expect(text == "POST /oauth2/token HTTP/1.1\r\nHost: auth.example.com\r\nAccept: application/json\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\n"
            + "Authorization: Basic bXklM0FhcHAlMkIxJTIwJUMzJUE5OnAlMjVzcyUyMHclQzMlQjZyZCUzQSUyQiUyRiUzRA==\r\n"
            + "Content-Length: \(body.utf8.count)\r\n" + Self.tail + body)
    }

    // Glewlwyd 2.7 answers 403 to the §2.3.1 form of a secret with reserved characters.
    @Test("basic_encoding raw sends id and secret as they are, joined by ':' and base64'd (RFC 7617)")
    func basicRawEncoding() throws {
        var parameters = TokenRequest.Parameters(clientID: "my-app", authMethod: .clientSecretBasic)
        parameters.basicEncoding = .raw
        let text = try Self.build(parameters, secret: "p%ss wörd:+/=")
        let expected = "Authorization: Basic " + Data("my-app:p%ss wörd:+/=".utf8).base64EncodedString() + "\r\n"
        #expect(text.contains(expected))
        // The default stays the RFC 6749 form.
        parameters.basicEncoding = .form
        #expect(try Self.build(parameters, secret: "p%ss wörd:+/=").contains(
            "Authorization: Basic " + Data("my-app:p%25ss%20w%C3%B6rd%3A%2B%2F%3D".utf8).base64EncodedString() + "\r\n"))
    }

    @Test("a refused Basic login logs a hint naming basic_encoding; a 400 or 403 hint names the scopes")
    func refusalHints() {
        func hint(_ method: ClientAuthMethod, _ encoding: TokenConfig.BasicEncoding = .form, scopes: [String] = [],
                  for error: TokenError) -> String {
            var parameters = TokenRequest.Parameters(clientID: "c", authMethod: method, scopes: scopes)
            parameters.basicEncoding = encoding
            return OAuthTokenFetcher.hint(for: error, parameters: parameters) ?? "-"
        }
        let forbidden = TokenError.rejected(status: 403, error: nil, errorDescription: nil)
        let invalidClient = TokenError.rejected(status: 401, error: "invalid_client", errorDescription: nil)
        #expect(hint(.clientSecretBasic, for: invalidClient).contains("token.basic_encoding: raw"))
        #expect(hint(.clientSecretBasic, for: forbidden).contains("token.basic_encoding: raw"))
        #expect(hint(.clientSecretBasic, for: forbidden).contains("token.scopes is empty"))
        #expect(hint(.clientSecretBasic, scopes: ["read"], for: forbidden).contains("token.scopes are granted"))
        #expect(hint(.clientSecretBasic, .raw, for: invalidClient).contains("expect form"))
        #expect(!hint(.clientSecretPost, for: invalidClient).contains("basic_encoding"))
        #expect(hint(.clientSecretPost, for: TokenError.rejected(status: 400, error: "invalid_scope", errorDescription: nil)).contains("scope"))
        #expect(hint(.clientSecretBasic, for: TokenError.rejected(status: 503, error: nil, errorDescription: nil)) == "-")
    }

    @Test("client_secret_post puts id and secret in the body, encoded, and sends no Authorization")
    func post() throws {
        var parameters = TokenRequest.Parameters(clientID: "my-app", authMethod: .clientSecretPost)
        parameters.scopes = ["read"]
        let text = try Self.build(parameters, secret: "a&b=c+d")
        let body = "grant_type=client_credentials&scope=read&client_id=my-app&client_secret=a%26b%3Dc%2Bd"
        #expect(text == "POST /oauth2/token HTTP/1.1\r\nHost: auth.example.com\r\nAccept: application/json\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n" + Self.tail + body)
    }

    @Test("audience, repeated resource (RFC 8707 §2) and extra_params come after scope, in order")
    func extraParameters() throws {
        var parameters = TokenRequest.Parameters(clientID: "c", authMethod: .clientSecretPost)
        parameters.scopes = ["s"]
        parameters.audience = "https://api.example.com"
        parameters.resources = ["https://api.example.com/v2", "urn:x:y"]
        parameters.extraParameters = [TokenParameter(name: "tenant", value: "acme corp"), TokenParameter(name: "b", value: "1")]
        let body = String(try Self.build(parameters, secret: "s").split(separator: "\r\n\r\n", maxSplits: 1)[1])
        #expect(body == "grant_type=client_credentials&scope=s&audience=https%3A%2F%2Fapi.example.com"
            + "&resource=https%3A%2F%2Fapi.example.com%2Fv2&resource=urn%3Ax%3Ay&tenant=acme%20corp&b=1"
            + "&client_id=c&client_secret=s")
    }

    @Test("no scopes means no scope parameter")
    func noScope() throws {
        let text = try Self.build(.init(clientID: "c", authMethod: .clientSecretBasic), secret: "s")
        #expect(text.hasSuffix("\r\n\r\ngrant_type=client_credentials"))
    }

    @Test("client_secret_jwt: HS256 assertion over the secret, pinned byte for byte (RFC 7523 §2.2, OIDC Core §9)")
    func clientSecretJWT() throws {
        let text = try Self.build(.init(clientID: "my-app", authMethod: .clientSecretJWT), secret: "hmac-secret-0123456789abcdef0123")
        // Computed independently (Python hmac/base64) from the header and claims below.
        let assertion = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJteS1hcHAiLCJzdWIiOiJteS1hcHAiLCJhdWQiOiJodHRwczovL2F1dGguZXhhbXBsZS5jb20vb2F1dGgyL3Rva2VuIiwianRpIjoianRpLTEiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDA2MH0.7hdjQkWLe8NGc0tiejD4Cws2iPDxxK0JcrmyRBBnV_Y"
        let body = "grant_type=client_credentials&client_id=my-app"
            + "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            + "&client_assertion=\(assertion)"
        #expect(text == "POST /oauth2/token HTTP/1.1\r\nHost: auth.example.com\r\nAccept: application/json\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n" + Self.tail + body)
        #expect(!text.contains("hmac-secret"))
    }

    @Test("private_key_jwt: header with alg and kid, claims iss=sub=client_id, aud=endpoint, jti, iat, exp=iat+60; signature verifies",
          arguments: [JWSAlgorithm.rs256, .ps256, .es256])
    func privateKeyJWT(algorithm: JWSAlgorithm) throws {
        let key = algorithm == .es256 ? TokenFixture.ecKey : TokenFixture.rsaKey
        var parameters = TokenRequest.Parameters(clientID: "my-app", authMethod: .privateKeyJWT)
        parameters.keyID = "key-1"
        parameters.signingAlgorithm = algorithm
        let text = try Self.build(parameters, key: key)
        let body = String(text.split(separator: "\r\n\r\n", maxSplits: 1)[1])
        let prefix = "grant_type=client_credentials&client_id=my-app"
            + "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
        #expect(body.hasPrefix(prefix))
        let assertion = String(body.dropFirst(prefix.count))
        let parts = assertion.split(separator: ".")
        #expect(parts.count == 3)
        #expect(String(decoding: Base64URL.decode(parts[0])!, as: UTF8.self) == #"{"alg":"\#(algorithm.rawValue)","typ":"JWT","kid":"key-1"}"#)
        #expect(String(decoding: Base64URL.decode(parts[1])!, as: UTF8.self)
            == #"{"iss":"my-app","sub":"my-app","aud":"https://auth.example.com/oauth2/token","jti":"jti-1","iat":1700000000,"exp":1700000060}"#)
        let verifier = try JWSVerifier(publicKeyPEM: key.publicKeyPEM())
        #expect(verifier.verify(Base64URL.decode(parts[2])!, of: Array("\(parts[0]).\(parts[1])".utf8), algorithm: algorithm))
    }

    @Test("tls_client_auth sends client_id in the body and no secret or assertion (RFC 8705 §2.1)")
    func tlsClientAuth() throws {
        let text = try Self.build(.init(clientID: "my-app", authMethod: .tlsClientAuth))
        #expect(text.hasSuffix("\r\n\r\ngrant_type=client_credentials&client_id=my-app"))
        #expect(!text.contains("Authorization"))
    }

    @Test("federated_jwt sends the assertion as it is, with its type and client_id, and no Authorization (RFC 7523 §2.2)")
    func federatedJWT() throws {
        let bytes = try TokenRequest.build(
            .init(clientID: "my-app", authMethod: .federatedJWT, scopes: ["api.read"]), endpoint: Self.endpoint,
            credentials: .init(assertion: Secret("eyJh.eyJz.c2ln")), now: 1_700_000_000, jwtID: "unused")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasSuffix("\r\n\r\ngrant_type=client_credentials&scope=api.read&client_id=my-app"
            + "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJh.eyJz.c2ln"))
        #expect(!text.contains("Authorization"))
        #expect(throws: TokenError.credentials("no assertion loaded")) {
            try TokenRequest.build(.init(clientID: "c", authMethod: .federatedJWT), endpoint: Self.endpoint,
                                   credentials: .init(), now: 0, jwtID: "j")
        }
    }

    @Test("a method whose credential is missing fails on this side, naming what is missing")
    func missingCredential() throws {
        #expect(throws: TokenError.credentials("no client secret loaded")) {
            try TokenRequest.build(.init(clientID: "c", authMethod: .clientSecretBasic), endpoint: Self.endpoint,
                                   credentials: .init(), now: 0, jwtID: "j")
        }
        #expect(throws: TokenError.credentials("no private key loaded")) {
            try TokenRequest.build(.init(clientID: "c", authMethod: .privateKeyJWT), endpoint: Self.endpoint,
                                   credentials: .init(), now: 0, jwtID: "j")
        }
    }

    @Test("JWT ids are unique and long enough not to collide")
    func jwtIDs() {
        let ids = Set((0..<1000).map { _ in ClientAssertion.newJWTID() })
        #expect(ids.count == 1000)
        #expect(ids.allSatisfy { $0.count == 22 })
    }
}
