@testable import BearerProxy
import BearerTLS
import Testing

extension Integration {
    /// What the upstream receives for a request passed through the proxy: the head, byte for byte.
    @Suite("Forwarding: the request head the upstream receives")
    struct Forwarding {
        @Test("proxy forwards a GET with exactly one Authorization field, the bearer token the token endpoint issued")
        func getCarriesIssuedBearerToken() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let payload = (0..<512).map { UInt8($0 % 256) }
            harness.upstream.respond { _ in .response(LocalResponse(status: 200, headerFields: [("Content-Type", "application/octet-stream")], body: payload)) }

            let client = try harness.client()
            let response = try client.exchange(harness.get("/v1/items?x=1&y=%20", extraFields: "Accept: */*\r\n"))

            #expect(response.status == 200)
            #expect(response.body == payload)
            let received = try #require(harness.upstream.requests.first)
            #expect(harness.upstream.requests.count == 1)
            let issued = try #require(harness.tokenEndpoint.issuedTokens.first)
            #expect(harness.tokenEndpoint.issuedTokens.count == 1)
            #expect(received.requestLine == "GET /v1/items?x=1&y=%20 HTTP/1.1")
            #expect(received.fieldLines(named: "authorization") == ["Authorization: Bearer \(issued)"])
            #expect(received.fieldLines(named: "host") == ["Host: \(harness.upstreamAuthority)"])
            #expect(received.fieldLines(named: "x-forwarded-for") == ["X-Forwarded-For: 127.0.0.1"])
            #expect(received.fieldLines(named: "x-forwarded-proto") == ["X-Forwarded-Proto: http"])
            #expect(received.fieldLines(named: "x-forwarded-host") == ["X-Forwarded-Host: 127.0.0.1:\(harness.proxyPort)"])
            #expect(received.fieldLines(named: "accept") == ["Accept: */*"])
            #expect(received.body.isEmpty)
        }

        @Test("proxy drops client Authorization (repeated, any case) and Proxy-Authorization fields")
        func clientCredentialsAreDropped() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange(harness.get("/secret", extraFields:
                "Authorization: Basic Y2xpZW50OnB3\r\n" +
                "aUtHoRiZaTiOn: Bearer client-supplied-token\r\n" +
                "Proxy-Authorization: Basic cHJveHk6cHc=\r\n"))

            #expect(response.status == 200)
            let received = try #require(harness.upstream.requests.first)
            let issued = try #require(harness.tokenEndpoint.issuedTokens.first)
            #expect(received.fieldLines(named: "authorization") == ["Authorization: Bearer \(issued)"])
            #expect(received.fieldLines(named: "proxy-authorization").isEmpty)
            #expect(!received.rawHeadText.contains("client-supplied-token"))
            #expect(!received.rawHeadText.contains("Y2xpZW50OnB3"))
            #expect(!received.rawHeadText.contains("cHJveHk6cHc="))
        }

        // RFC 9110 §7.6.1: fields named in Connection are hop-by-hop; naming Authorization must not
        // let a client strip the proxy's own credentials.
        @Test("Connection nominating Authorization cannot remove the bearer field; a nominated X-Secret is not forwarded")
        func connectionNominationCannotRemoveBearer() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange(harness.get("/nominated", extraFields:
                "Connection: authorization, x-secret\r\nX-Secret: 1\r\nX-Kept: 2\r\n"))

            #expect(response.status == 200)
            let received = try #require(harness.upstream.requests.first)
            let issued = try #require(harness.tokenEndpoint.issuedTokens.first)
            #expect(received.fieldLines(named: "authorization") == ["Authorization: Bearer \(issued)"])
            #expect(received.fieldLines(named: "x-secret").isEmpty)
            #expect(received.fieldLines(named: "connection").isEmpty)
            #expect(received.fieldLines(named: "x-kept") == ["X-Kept: 2"])
        }

        // RFC 9112 §3.2.2: absolute-form must be accepted; the host it names is not where we go.
        @Test("absolute-form target goes to the configured upstream in origin-form; its authority, not Host, must be accepted")
        func absoluteFormGoesToConfiguredUpstream() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange(harness.get("http://localhost/x?y"))

            #expect(response.status == 200)
            #expect(response.bodyText == "target=/x?y")
            let received = try #require(harness.upstream.requests.first)
            #expect(received.requestLine == "GET /x?y HTTP/1.1")
            #expect(received.fieldLines(named: "host") == ["Host: \(harness.upstreamAuthority)"])

            // RFC 9112 §3.2.2: with an absolute-form target the Host field is ignored, so a local
            // Host cannot carry a foreign authority through.
            let foreign = try harness.client().exchange(harness.get("http://evil.example/x?y"))
            #expect(foreign.status == 421)
            #expect(harness.upstream.requests.count == 1)
        }

        @Test("absolute-form targets keep only path and query", arguments: [
            ("http://localhost", "/"),
            ("http://127.0.0.1?y=1", "/?y=1"),
            ("HTTPS://LOCALHOST/a/b?c", "/a/b?c"),
        ])
        func absoluteFormVariants(target: String, expected: String) async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let response = try harness.client().exchange(harness.get(target))

            #expect(response.status == 200)
            let received = try #require(harness.upstream.requests.first)
            #expect(received.target == expected)
        }

        @Test("the upstream URL's base path prefixes every forwarded target")
        func basePathPrefixesTarget() async throws {
            var options = ProxyHarness.Options()
            options.upstreamBasePath = "/v2"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            _ = try harness.client().exchange(harness.get("/items?page=2"))
            _ = try harness.client().exchange(harness.get("http://localhost/abs"))

            #expect(harness.upstream.requests.map(\.requestLine) == ["GET /v2/items?page=2 HTTP/1.1", "GET /v2/abs HTTP/1.1"])
        }

        @Test("X-Forwarded-For lists the client's earlier hops in order, then the client address, in one field")
        func forwardedForAppendsClient() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            _ = try harness.client().exchange(harness.get("/xff", extraFields:
                "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: spoofed.example\r\n"))

            let received = try #require(harness.upstream.requests.first)
            #expect(received.fieldLines(named: "x-forwarded-for") == ["X-Forwarded-For: 10.0.0.1, 10.0.0.2, 127.0.0.1"])
            #expect(received.fieldLines(named: "x-forwarded-proto") == ["X-Forwarded-Proto: http"])
            #expect(received.fieldLines(named: "x-forwarded-host") == ["X-Forwarded-Host: 127.0.0.1:\(harness.proxyPort)"])
        }

        // Resolved by the upstream, `/../admin` under the base path `/v2` would name `/admin`.
        @Test("a path with a dot-segment is answered 400 and nothing reaches the upstream", arguments: [
            "/../admin", "/a/./b", "/a/..", "/%2e%2E/admin", "/.%2e/x?y", "http://evil.example/a/../../admin",
            "/%2e%2e%2fadmin", "/a%2F..%2Fb", "/..%5cadmin", "/x/..\\admin", "/..;/admin", "/a/..;jsessionid=1/b",
            "/%252e%252e/admin", "/a/.",
        ])
        func dotSegmentIsRejected(target: String) async throws {
            var options = ProxyHarness.Options()
            options.upstreamBasePath = "/v2"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            let response = try harness.client().exchange(harness.get(target))

            #expect(response.status == 400)
            #expect(response.jsonString("detail")?.contains("segment") == true)
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }

        @Test("dots inside a path segment or in the query are forwarded as they are", arguments: [
            "/a/.well-known/b", "/a/.../b", "/a/..b", "/files/x..y", "/q?path=../../etc", "/%2e%2e%2e", "/a%2fb", "/%2e%41",
            "/a;..", "/x;p=..", "/%2", "/a%", "/..%",
        ])
        func dotsThatAreNotSegmentsPass(target: String) async throws {
            var options = ProxyHarness.Options()
            options.upstreamBasePath = "/v2"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            let response = try harness.client().exchange(harness.get(target))

            #expect(response.status == 200)
            #expect(harness.upstream.requests.first?.target == "/v2" + target)
        }

        @Test("CONNECT is answered 405 and nothing reaches the upstream")
        func connectIsRejected() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange("CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n")

            #expect(response.status == 405)
            #expect(response.jsonString("error") == "method_not_allowed")
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }

        // The upstream would echo the request, bearer token included, back to the local program.
        @Test("TRACE is answered 405 without TRACE in Allow, and nothing reaches the upstream")
        func traceIsRejected() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange("TRACE /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")

            #expect(response.status == 405)
            #expect(response.jsonString("error") == "method_not_allowed")
            let allow = try #require(response.value(of: "allow"))
            #expect(!allow.contains("TRACE"))
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }

        // proxy.conf.example: `allowed_hosts` lists the Host values "accepted besides localhost,
        // 127.0.0.1 and [::1]". Without the check, a web page can use DNS rebinding to make a
        // browser send requests that the proxy signs with this client's token.
        @Test("a Host outside localhost and allowed_hosts is answered 421 and nothing reaches the upstream")
        func foreignHostIsMisdirected() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange("GET /rebound HTTP/1.1\r\nHost: attacker.example\r\n\r\n")

            #expect(response.status == 421)
            #expect(response.jsonString("error") == "misdirected_request")
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }
    }
}
