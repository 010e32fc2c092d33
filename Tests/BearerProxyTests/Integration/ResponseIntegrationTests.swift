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

        // RFC 9110 §9.3.2: the proxy's own answers to HEAD end at the head too. Content after a
        // kept-alive HEAD answer would be read by the client as the start of the next response.
        @Test("a proxy error answering HEAD has no body, and the kept-alive connection carries the next request")
        func headErrorResponseHasNoBody() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in
                request.method == "HEAD"
                    ? .rawThenClose(Array("not an HTTP response\r\n\r\n".utf8))
                    : .response(.text(200, "target=\(request.target)"))
            }

            let client = try harness.client()
            try client.send("HEAD /broken HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let head = try client.readResponse(toHEAD: true)
            let next = try client.exchange(harness.get("/next"))

            #expect(head.status == 502)
            #expect(head.value(of: "connection") == nil)
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
    
        @Test("an idle pooled connection the upstream closes is dropped from the pool, so a later POST with a body succeeds")
        func idleClosedConnectionLeavesPool() async throws {
            var options = ProxyHarness.Options()
            options.workers = 1
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in
                request.method == "GET"
                    ? .rawThenClose(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8))
                    : .response(.text(200, "posted \(request.body.count)"))
            }

            let client = try harness.client()
            #expect(try client.exchange(harness.get("/then-closed")).status == 200)
            try await poll("the pool to notice the upstream's close") { harness.proxy.poolStatistics().map(\.idle) == [0] }
            try client.send("POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc")
            let posted = try client.readResponse()

            #expect(posted.status == 200)
            #expect(posted.bodyText == "posted 3")
        }

        // A short body must not look complete: the client has to see the connection end.
        @Test("an upstream that closes mid-body makes the proxy cut the client connection, not end the body early")
        func truncatedUpstreamBody() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in .rawThenClose(Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort".utf8)) }

            let client = try harness.client()
            try client.send(harness.get("/truncated"))

            #expect(throws: RawClientError.self) { try client.readResponse() }
            #expect(client.peerClosed)
        }

        @Test("an upstream answer that is not HTTP gives 502 upstream_unavailable")
        func garbageUpstreamResponse() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in .rawThenClose(Array("SSH-2.0-OpenSSH_9.2\r\n\r\n".utf8)) }

            let response = try harness.client().exchange(harness.get("/garbage"))

            #expect(response.status == 502)
            #expect(response.jsonString("error") == "upstream_unavailable")
        }

        // RFC 9110 §15.2: interim responses go to HTTP/1.1 clients ahead of the final one.
        @Test("an upstream 100 Continue is passed to the client before the final response")
        func interimResponseRelayed() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in
                .raw(Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8))
            }

            let client = try harness.client()
            let response = try client.exchange(harness.get("/interim"))
            let next = try client.exchange(harness.get("/after-interim"))

            #expect(response.status == 200)
            #expect(response.bodyText == "ok")
            #expect(next.status == 200)
        }

        @Test("a 204 response without a body leaves the connection ready for the next request")
        func noContentKeepsConnection() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in
                request.target == "/empty" ? .raw(Array("HTTP/1.1 204 No Content\r\nX-Done: 1\r\n\r\n".utf8))
                    : .response(.text(200, "target=\(request.target)"))
            }

            let client = try harness.client()
            let empty = try client.exchange(harness.get("/empty"))
            let next = try client.exchange(harness.get("/next"))

            #expect(empty.status == 204)
            #expect(empty.value(of: "x-done") == "1")
            #expect(next.bodyText == "target=/next")
        }
    }
}
