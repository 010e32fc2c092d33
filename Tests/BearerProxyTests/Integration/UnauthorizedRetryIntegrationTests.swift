@testable import BearerProxy
import Testing

extension Integration {
    /// RFC 6750 §3.1: an upstream 401 with `error="invalid_token"` means the token itself was
    /// refused (revoked, rotated keys). The proxy drops it, gets a new one and replays the request
    /// once when its body (if any) was kept; it never loops, and a request it cannot replay still
    /// leaves the rejected token dropped.
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
            // The second token was rejected too, so it is dropped as well (min_request_interval 0s
            // here): a third is fetched in the background, and nothing more.
            try await poll("the second rejected token to be replaced") { harness.tokenEndpoint.issuedTokens.count == 3 }
            try await Task.sleep(for: .milliseconds(100))
            #expect(harness.tokenEndpoint.issuedTokens.count == 3)
            #expect(harness.upstream.requests.count == 2)
        }

        /// A POST-only client was locked out for the token's whole lifetime: the 401 to a request
        /// that could not be replayed left the rejected token in the cache.
        @Test("a small POST body is kept and replayed with a new token; the upstream gets it whole both times",
              arguments: ["Content-Length: 17\r\n\r\n{\"amount\": 12.5}\n", "Transfer-Encoding: chunked\r\n\r\n7\r\n{\"amoun\r\na\r\nt\": 12.5}\n\r\n0\r\n\r\n"])
        func smallBodyReplayed(framing: String) async throws {
            let harness = try ProxyHarness(.init(tokenMinRequestInterval: "0s"))
            defer { harness.stop() }
            try await harness.waitForToken()
            let first = try #require(harness.tokenEndpoint.issuedTokens.last)
            harness.upstream.respond(Self.rejecting([first]))

            let response = try harness.client().exchange(
                "POST /payments HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\nContent-Type: application/json\r\n\(framing)")

            #expect(response.status == 200)
            let requests = harness.upstream.requests
            #expect(requests.count == 2)
            #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == ["{\"amount\": 12.5}\n", "{\"amount\": 12.5}\n"])
            let tokens = harness.tokenEndpoint.issuedTokens
            #expect(requests.map { $0.values(of: "authorization") } == [["Bearer \(first)"], ["Bearer \(tokens.last!)"]])
            #expect(tokens.count == 2)
        }

        @Test("a body over upstream.replay_body_limit gets the 401, and the rejected token is dropped all the same")
        func largeBodyRelayedTokenDropped() async throws {
            let harness = try ProxyHarness(.init(tokenMinRequestInterval: "0s", upstreamYAML: "  replay_body_limit: 8\n"))
            defer { harness.stop() }
            try await harness.waitForToken()
            let first = try #require(harness.tokenEndpoint.issuedTokens.last)
            harness.upstream.respond(Self.rejecting([first]))
            let client = try harness.client()
            let post = "POST /data HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\nContent-Length: 9\r\n\r\n123456789"

            #expect(try client.exchange(post).status == 401)
            #expect(harness.upstream.requests.count == 1)
            // The next POST, on the same connection, carries a new token and gets through.
            try await poll("a new token") { harness.tokenEndpoint.issuedTokens.count == 2 }
            #expect(try client.exchange(post).status == 200)
            let requests = harness.upstream.requests
            #expect(requests.count == 2)
            #expect(requests.last?.values(of: "authorization") == ["Bearer \(harness.tokenEndpoint.issuedTokens.last!)"])
            #expect(requests.last.map { String(decoding: $0.body, as: UTF8.self) } == "123456789")
        }

        @Test("a body exactly at upstream.replay_body_limit is still replayed; replay_body_limit: 0 replays only body-less requests")
        func limitBoundary() async throws {
            for (limit, expected) in [(9, 200), (0, 401)] {
                let harness = try ProxyHarness(.init(tokenMinRequestInterval: "0s", upstreamYAML: "  replay_body_limit: \(limit)\n"))
                defer { harness.stop() }
                try await harness.waitForToken()
                let first = try #require(harness.tokenEndpoint.issuedTokens.last)
                harness.upstream.respond(Self.rejecting([first]))
                let response = try harness.client().exchange(
                    "PUT /data HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\nContent-Length: 9\r\n\r\n123456789")
                #expect(response.status == expected, "replay_body_limit: \(limit)")
            }
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
