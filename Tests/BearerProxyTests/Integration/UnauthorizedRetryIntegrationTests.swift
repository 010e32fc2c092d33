@testable import BearerProxy
import Testing

extension Integration {
    /// RFC 6750 §3.1: an upstream 401 with `error="invalid_token"` means the token itself was
    /// refused (revoked, rotated keys). The proxy drops it, gets a new one and replays a
    /// body-less request once; it never loops and never replays a request whose body is gone.
    @Suite("Upstream 401: a rejected token is replaced and the request replayed once")
    struct UnauthorizedRetry {
        /// Rejects every token in `rejected`, accepts any other.
        static func rejecting(_ rejected: Set<String>) -> TestUpstream.Responder {
            { request in
                let authorization = request.values(of: "authorization").first ?? ""
                let token = String(authorization.dropFirst("Bearer ".count))
                if rejected.contains(token) {
                    return .response(LocalResponse(
                        status: 401,
                        headerFields: [("WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=\"revoked\"")],
                        body: Array("revoked".utf8)))
                }
                return .response(.text(200, "hello with a fresh token"))
            }
        }

        @Test("a 401 invalid_token makes the proxy fetch one new token and replay the GET, and the client sees 200")
        func replayedWithNewToken() async throws {
            let harness = try ProxyHarness(.init(tokenMinRequestInterval: "0s"))
            defer { harness.stop() }
            try await harness.waitForToken()
            let first = try #require(harness.tokenEndpoint.issuedTokens.last)
            harness.upstream.respond(Self.rejecting([first]))

            let response = try harness.client().exchange(harness.get("/data"))

            #expect(response.status == 200)
            #expect(response.bodyText == "hello with a fresh token")
            let tokens = harness.tokenEndpoint.issuedTokens
            #expect(tokens.count == 2)
            let sent = harness.upstream.requests.map { $0.values(of: "authorization") }
            #expect(sent == [["Bearer \(first)"], ["Bearer \(tokens[1])"]])
        }

        @Test("when the new token is refused too, the 401 reaches the client after exactly one retry")
        func neverLoops() async throws {
            let harness = try ProxyHarness(.init(tokenMinRequestInterval: "0s"))
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in
                .response(LocalResponse(status: 401, headerFields: [("WWW-Authenticate", "Bearer error=\"invalid_token\"")]))
            }

            let response = try harness.client().exchange(harness.get("/data"))

            #expect(response.status == 401)
            #expect(response.value(of: "www-authenticate") == "Bearer error=\"invalid_token\"")
            #expect(harness.upstream.requests.count == 2)
            #expect(harness.tokenEndpoint.issuedTokens.count == 2)
        }

        @Test("a 401 to a request with a body is relayed, not replayed")
        func bodyIsNotReplayed() async throws {
            let harness = try ProxyHarness(.init(tokenMinRequestInterval: "0s"))
            defer { harness.stop() }
            try await harness.waitForToken()
            let first = try #require(harness.tokenEndpoint.issuedTokens.last)
            harness.upstream.respond(Self.rejecting([first]))

            let response = try harness.client().exchange(
                "POST /data HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\nContent-Length: 4\r\n\r\nbody")

            #expect(response.status == 401)
            #expect(harness.upstream.requests.count == 1)
        }

        @Test("a plain 401 without invalid_token is relayed as it came under the default setting")
        func plainUnauthorizedIsRelayed() async throws {
            let harness = try ProxyHarness(.init(tokenMinRequestInterval: "0s"))
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in .response(LocalResponse(status: 401, body: Array("no".utf8))) }

            let response = try harness.client().exchange(harness.get("/data"))

            #expect(response.status == 401)
            #expect(harness.upstream.requests.count == 1)
            #expect(harness.tokenEndpoint.issuedTokens.count == 1)
        }

        @Test("within token.min_request_interval of the last token request, a 401 is relayed without a new token request")
        func minimumIntervalHolds() async throws {
            let harness = try ProxyHarness(.init(tokenMinRequestInterval: "1h"))
            defer { harness.stop() }
            try await harness.waitForToken()
            let first = try #require(harness.tokenEndpoint.issuedTokens.last)
            harness.upstream.respond(Self.rejecting([first]))

            for _ in 0..<5 {
                #expect(try harness.client().exchange(harness.get("/data")).status == 401)
            }
            #expect(harness.tokenEndpoint.issuedTokens.count == 1)
        }
    }
}
