@testable import BearerProxy
import BearerTLS
import Foundation
import Testing

extension Integration {
    /// The real proxy against an in-process token endpoint that authenticates the client like a
    /// real authorization server does, for every `token.auth_method`.
    @Suite("Tokens: client authentication methods")
    struct TokenAuthentication {
        static func forwardsWithToken(_ options: ProxyHarness.Options) async throws {
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            let response = try harness.client().exchange(harness.get("/auth"))
            #expect(response.status == 200)
            #expect(harness.tokenEndpoint.rejections == [])
            let issued = try #require(harness.tokenEndpoint.issuedTokens.first)
            #expect(harness.upstream.requests.first?.fieldLines(named: "authorization") == ["Authorization: Bearer \(issued)"])
        }

        @Test("client_secret_basic and client_secret_post are accepted by the endpoint")
        func secretMethods() async throws {
            for authentication in [ProxyHarness.ClientAuthentication.basic, .post] {
                var options = ProxyHarness.Options()
                options.authentication = authentication
                try await Self.forwardsWithToken(options)
            }
        }

        @Test("client_secret_jwt: the endpoint verifies the HS256 assertion and its claims")
        func clientSecretJWT() async throws {
            var options = ProxyHarness.Options()
            options.authentication = .clientSecretJWT
            try await Self.forwardsWithToken(options)
        }

        @Test("private_key_jwt: the endpoint verifies the signature (RS256, PS256, ES256), kid, iss, sub, aud, exp and a fresh jti",
              arguments: [JWSAlgorithm.rs256, .ps256, .es256])
        func privateKeyJWT(algorithm: JWSAlgorithm) async throws {
            var options = ProxyHarness.Options()
            options.authentication = .privateKeyJWT(algorithm)
            try await Self.forwardsWithToken(options)
        }

        @Test("tls_client_auth: the endpoint demands a client certificate from its CA and gets it (RFC 8705)")
        func tlsClientAuth() async throws {
            var options = ProxyHarness.Options()
            options.authentication = .tlsClientAuth
            try await Self.forwardsWithToken(options)
        }

        @Test("discovery: token.issuer finds the token endpoint in the OIDC metadata")
        func discovery() async throws {
            var options = ProxyHarness.Options()
            options.discovery = true
            options.authentication = .privateKeyJWT(.es256)
            try await Self.forwardsWithToken(options)
        }

        @Test("discovery: an issuer mismatch gives 503 naming it, and no token request is sent")
        func discoveryIssuerMismatch() async throws {
            var options = ProxyHarness.Options()
            options.discovery = true
            options.metadataIssuer = "https://evil.example.com"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            let response = try harness.client().exchange(harness.get("/x"))
            #expect(response.status == 503)
            #expect(response.jsonString("detail")?.contains("does not match the configured issuer") == true)
            #expect(harness.tokenEndpoint.requestCount == 0)
        }

        @Test("discovery: a method the server does not offer fails early with a clear message")
        func discoveryUnsupportedMethod() async throws {
            var options = ProxyHarness.Options()
            options.discovery = true
            options.authMethodsSupported = ["private_key_jwt"]
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            let response = try harness.client().exchange(harness.get("/x"))
            #expect(response.status == 503)
            #expect(response.jsonString("detail")?.contains("does not offer auth_method client_secret_basic") == true)
            #expect(harness.tokenEndpoint.requestCount == 0)
        }

        @Test("a rotated secret file is picked up at once: a new token is fetched with the new secret before expiry")
        func secretRotation() async throws {
            var options = ProxyHarness.Options()
            options.secretInFile = true
            options.authentication = .post
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            // The minimum interval between token requests (5 s) would delay the rotation fetch; the
            // provider schedules it, so wait for it rather than for expiry (300 s).
            harness.tokenEndpoint.rotateSecret(to: "rotated-S3CRET-2")
            try Data("rotated-S3CRET-2\n".utf8).write(to: URL(fileURLWithPath: harness.secretPath))
            harness.proxy.checkCredentialFiles()
            // Until the proxy holds the answer, not only until the endpoint sent it.
            try await poll("a token fetched with the new secret", timeout: .seconds(8)) {
                harness.proxy.tokenStatus.fetchesSucceeded >= 2
            }
            let last = try #require(harness.tokenEndpoint.requests.last)
            #expect(TestTokenEndpoint.form(last.body)["client_secret"] == ["rotated-S3CRET-2"])
            let response = try harness.client().exchange(harness.get("/after-rotation"))
            #expect(response.status == 200)
            #expect(harness.upstream.requests.last?.fieldLines(named: "authorization") == ["Authorization: Bearer \(harness.tokenEndpoint.issuedTokens.last!)"])
        }

        @Test("a 503 from the token endpoint is retried after its Retry-After, in the background")
        func backoffRecovers() async throws {
            var options = ProxyHarness.Options()
            options.tokenBehaviour = .fail(status: 503)
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await poll("the retry after the 503", timeout: .seconds(5)) { harness.proxy.tokenStatus.hasValidToken }
            #expect(harness.tokenEndpoint.requestCount == 2)
            #expect(harness.proxy.tokenStatus.fetchesFailedTransient == 1)
        }

        @Test("under steady load across several token lifetimes, no caller sees a 401 or 503")
        func steadyLoadAcrossLifetimes() async throws {
            var options = ProxyHarness.Options()
            options.tokenBehaviour = .issue(expiresIn: 2)
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            let client = try harness.client()
            let clock = ContinuousClock()
            let end = clock.now + .seconds(5)
            var statuses: [Int] = []
            while clock.now < end {
                statuses.append(try client.exchange(harness.get("/steady")).status)
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(statuses.allSatisfy { $0 == 200 })
            #expect(harness.tokenEndpoint.issuedTokens.count >= 3)
            let used = Set(harness.upstream.requests.compactMap { $0.fieldLines(named: "authorization").first })
            #expect(used.count >= 3)
        }
    }
}
