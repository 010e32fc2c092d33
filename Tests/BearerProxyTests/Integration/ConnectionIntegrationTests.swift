@testable import BearerProxy
import Testing

extension Integration {
    /// Client connections, keep-alive and the upstream connection pool.
    @Suite("Connections: keep-alive, pooling, pipelining, HTTP/1.0")
    struct Connections {
        static func totals(_ statistics: [UpstreamPool.Statistics]) -> (created: Int, reused: Int) {
            statistics.reduce((0, 0)) { ($0.0 + $1.created, $0.1 + $1.reused) }
        }

        @Test("sequential requests on one keep-alive client connection reuse one upstream connection")
        func keepAliveReusesUpstream() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            for index in 1...5 {
                let response = try client.exchange(harness.get("/seq/\(index)"))
                #expect(response.status == 200)
                #expect(response.bodyText == "target=/seq/\(index)")
            }

            let totals = Self.totals(harness.proxy.poolStatistics())
            #expect(totals.created == 1)
            #expect(totals.reused == 4)
        }

        @Test("requests from several client connections, one after another, reuse pooled upstream connections")
        func connectionsShareThePool() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            for index in 1...6 {
                let client = try harness.client()
                let response = try client.exchange(harness.get("/conn/\(index)", extraFields: "Connection: close\r\n"))
                #expect(response.status == 200)
                #expect(client.waitForClose())
            }

            // One upstream connection per event loop at most (the fixture runs two loops).
            let totals = Self.totals(harness.proxy.poolStatistics())
            #expect(totals.created <= 2)
            #expect(totals.reused >= 4)
            #expect(totals.created + totals.reused == 6)
        }

        // RFC 9112 §9.3.2: responses to pipelined requests come back in request order.
        @Test("two pipelined requests sent in one write are answered in order")
        func pipelinedRequestsAnsweredInOrder() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            try client.send(harness.get("/first") + harness.get("/second"))
            let first = try client.readResponse()
            let second = try client.readResponse()

            #expect(first.bodyText == "target=/first")
            #expect(second.bodyText == "target=/second")
            #expect(harness.upstream.requests.map(\.target) == ["/first", "/second"])
        }

        // RFC 9112 §9.3: an HTTP/1.0 connection is not persistent unless the client asks.
        @Test("an HTTP/1.0 request gets its response and then the connection is closed")
        func http10ConnectionCloses() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange("GET /old HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")

            #expect(response.status == 200)
            #expect(response.bodyText == "target=/old")
            #expect(client.waitForClose())
            #expect(harness.upstream.requests.first?.requestLine == "GET /old HTTP/1.1")
        }
    
        // ab, older Java and PHP stacks send HTTP/1.0 with Connection: keep-alive; every answer
        // came with Connection: close, so each request paid for a new connection.
        @Test("an HTTP/1.0 client that asks for keep-alive keeps its connection while response lengths are known")
        func http10KeepAlive() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            for target in ["/one", "/two"] {
                let response = try client.exchange("GET \(target) HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: Keep-Alive\r\n\r\n")
                #expect(response.status == 200)
                #expect(response.bodyText == "target=\(target)")
                #expect(response.value(of: "connection") == "keep-alive")
                #expect(response.value(of: "content-length") == "\(response.body.count)")
            }
            #expect(!client.peerClosed)
            #expect(harness.upstream.requests.map(\.target) == ["/one", "/two"])

            // A body whose length the client cannot know (chunked upstream): delimited by close.
            harness.upstream.respond { _ in
                .raw(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".utf8))
            }
            let chunked = try client.exchange("GET /three HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
            #expect(chunked.value(of: "connection") == "close")
            #expect(chunked.bodyText == "hello")
            #expect(client.peerClosed)
        }

        @Test("an HTTP/1.0 proxy error answer to a keep-alive client says keep-alive and leaves the connection open")
        func http10KeepAliveAfterError() async throws {
            var options = ProxyHarness.Options()
            options.upstreamResponseTimeout = "500ms"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.delayAnswers(milliseconds: 1500)

            let client = try harness.client()
            let timedOut = try client.exchange("GET /slow HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
            #expect(timedOut.status == 504)
            #expect(timedOut.value(of: "connection") == "keep-alive")
            harness.upstream.delayAnswers(milliseconds: 0)
            let next = try client.exchange("GET /next HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
            #expect(next.status == 200)
        }

        @Test("a pipelined POST with a body and a GET behind it in the same write are both forwarded intact, in order")
        func pipelinedBodyThenGet() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            try client.send("POST /with-body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\n\r\nhello worldGET /behind HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let first = try client.readResponse()
            let second = try client.readResponse()

            #expect(first.bodyText == "target=/with-body")
            #expect(second.bodyText == "target=/behind")
            #expect(harness.upstream.requests.map(\.target) == ["/with-body", "/behind"])
            #expect(harness.upstream.requests.first?.bodyText == "hello world")
            #expect(harness.upstream.requests.last?.body == [])
        }

        @Test("a client that half-closes after its request still gets the response, then the connection closes")
        func halfCloseAfterRequest() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            try client.send(harness.get("/half-closed"))
            client.shutdownWrite()
            let response = try client.readResponse()

            #expect(response.status == 200)
            #expect(response.bodyText == "target=/half-closed")
            #expect(client.waitForClose())
        }

        // RFC 9112 §7.1: an HTTP/1.0 client cannot read chunked framing; the body ends with the connection.
        @Test("a chunked upstream response reaches an HTTP/1.0 client unchunked, delimited by close")
        func chunkedResponseToHTTP10Client() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in
                .raw(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".utf8))
            }

            let client = try harness.client()
            let response = try client.exchange("GET /old-chunked HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")

            #expect(response.status == 200)
            #expect(response.values(of: "transfer-encoding") == [])
            #expect(response.bodyText == "hello world")
            #expect(client.peerClosed)
        }

        @Test("a client that said Connection: close gets its answer and a clean close")
        func clientCloseEndsCleanly() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange("GET /bye HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")

            #expect(response.bodyText == "target=/bye")
            #expect(response.value(of: "connection") == "close")
            #expect(client.waitForClose())
        }

        @Test("a request head not completed within timeouts.header_read gets 408 and the connection closes")
        func slowHeadTimesOut() async throws {
            var options = ProxyHarness.Options()
            options.extraYAML = "timeouts:\n  header_read: 300ms\n"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            try client.send("GET /slow-head HTTP/1.1\r\nHost: 127.0")
            let started = ContinuousClock.now
            let response = try client.readResponse()
            let elapsed = ContinuousClock.now - started

            #expect(response.status == 408)
            #expect(response.value(of: "connection")?.lowercased() == "close")
            #expect(elapsed < .seconds(2))
            #expect(client.waitForClose())
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }

        // Once a response has started, an error can only be told by cutting the connection: a 408
        // written then would be read as part of that response's body.
        @Test("a client stalling its body after the upstream's answer has started is cut off, not sent a 408 inside that answer")
        func slowBodyAfterResponseStarted() async throws {
            var options = ProxyHarness.Options()
            options.extraYAML = "timeouts:\n  body_read: 300ms\n"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.answerAtHead()
            harness.upstream.respond { _ in .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n".utf8)) }

            let client = try harness.client()
            try client.send("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc")

            // The upstream never sends the 50 body bytes, so the response must not look complete.
            #expect(throws: RawClientError.self) { try client.readResponse() }
            #expect(client.peerClosed)
            #expect(harness.upstream.requests.map(\.requestLine) == ["POST /upload HTTP/1.1"])
        }

        // The kernel spreads connections over the loops' listening sockets by a hash of their
        // addresses, which leaves one loop with more than another (64 clients over two loops split
        // 32/32 one time in ten; 22/42 was measured); the proxy evens that out. Here the worst case, made
        // certain: two of the three listening sockets closed, so the kernel gives every connection
        // to the first loop.
        @Test("keep-alive connections are spread evenly over the event loops, also when the kernel gives them all to one")
        func connectionsSpreadOverLoops() async throws {
            var options = ProxyHarness.Options()
            options.workers = 3
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            let listeners = harness.proxy.current.state.withLock { $0.listener.all }
            #expect(listeners.map(\.acceptingLoop.index) == [0, 1, 2])
            listeners[1].close()
            listeners[2].close()

            var clients: [RawHTTPClient] = []
            for index in 1...150 {
                let client = try harness.client()
                let response = try client.exchange(harness.get("/spread/\(index)"))
                #expect(response.status == 200)
                #expect(response.bodyText == "target=/spread/\(index)")
                clients.append(client)
            }
            let sessions = harness.proxy.services.sessions.map { registry in registry.loop.queue.sync { registry.count } }
            #expect(sessions.reduce(0, +) == 150)
            #expect(sessions.max()! - sessions.min()! <= ConnectionCounter.handOffMargin, "sessions per loop: \(sessions)")
            // Every connection still works on the loop it ended up on.
            for (index, client) in clients.enumerated() {
                #expect(try client.exchange(harness.get("/again/\(index)")).status == 200)
            }
            #expect(harness.upstream.requests.count == 300)
        }
    }
}
