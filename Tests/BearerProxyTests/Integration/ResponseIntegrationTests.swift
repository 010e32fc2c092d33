@testable import BearerProxy
import Testing

extension Integration {
    /// The response the client receives, and what the proxy does with the upstream connection after it.
    @Suite("Responses: heads, HEAD, and upstream connection reuse")
    struct Responses {
        // RFC 9110 §7.6.1: hop-by-hop response fields stay on the upstream hop.
        @Test("hop-by-hop and Proxy-Authenticate response fields are not passed to the client; others are")
        func responseHopByHopFieldsDropped() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in
                .raw(Array(("HTTP/1.1 200 OK\r\nConnection: x-internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=5\r\n"
                    + "Proxy-Authenticate: Basic realm=\"up\"\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok").utf8))
            }

            let response = try harness.client().exchange(harness.get("/hop"))

            #expect(response.status == 200)
            #expect(response.bodyText == "ok")
            #expect(response.value(of: "x-kept") == "yes")
            #expect(response.values(of: "x-internal") == [])
            #expect(response.values(of: "keep-alive") == [])
            #expect(response.values(of: "proxy-authenticate") == [])
        }

        // RFC 9110 §9.3.2: a HEAD response carries the length of the body it does not send.
        @Test("a HEAD response with Content-Length but no body ends, and the connection carries the next request")
        func headResponseHasNoBody() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in
                request.method == "HEAD"
                    ? .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".utf8))
                    : .response(.text(200, "target=\(request.target)"))
            }

            let client = try harness.client()
            try client.send("HEAD /head HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let head = try client.readResponse(toHEAD: true)
            let next = try client.exchange(harness.get("/next"))

            #expect(head.status == 200)
            #expect(head.value(of: "content-length") == "100")
            #expect(next.status == 200)
            #expect(next.bodyText == "target=/next")
        }

        @Test("an upstream response with Connection: close is not pooled; the next request opens a new connection")
        func upstreamCloseIsNotPooled() async throws {
            var options = ProxyHarness.Options()
            options.workers = 1
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in
                .rawThenClose(Array("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".utf8))
            }

            let client = try harness.client()
            #expect(try client.exchange(harness.get("/one")).status == 200)
            #expect(try client.exchange(harness.get("/two")).status == 200)

            let statistics = harness.proxy.poolStatistics()
            #expect(statistics.map(\.created) == [2])
            #expect(statistics.map(\.reused) == [0])
        }

        @Test("a pooled upstream connection the server dropped silently is replaced, and the body-less request succeeds")
        func silentlyDroppedPooledConnection() async throws {
            var options = ProxyHarness.Options()
            options.workers = 1
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in
                .rawThenClose(Array("HTTP/1.1 200 OK\r\nContent-Length: \(request.target.utf8.count)\r\n\r\n\(request.target)".utf8))
            }

            let client = try harness.client()
            let first = try client.exchange(harness.get("/one"))
            let second = try client.exchange(harness.get("/two"))

            #expect(first.status == 200)
            #expect(second.status == 200)
            #expect(second.bodyText == "/two")
            #expect(harness.upstream.requests.map(\.target) == ["/one", "/two"])
        }
    }
}
