@testable import BearerProxy
import Testing

extension Integration {
    /// An upstream whose framing disagrees with the proxy's, or that goes silent on a reused connection.
    @Suite("Upstream misbehaviour: bytes past a response, silence on a pooled connection")
    struct UpstreamMisbehaviour {
        // RFC 9112 §6.3: data after a complete response must never be taken as another response.
        // A server that sent more than it declared may still be sending, so its connection is closed.
        @Test("bytes after a Content-Length body are dropped and that upstream connection is not reused")
        func bodyLongerThanContentLength() async throws {
            var options = ProxyHarness.Options()
            options.workers = 1
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in
                request.target == "/long"
                    ? .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nFAKE".utf8))
                    : .response(.text(200, "target=\(request.target)"))
            }

            let client = try harness.client()
            let long = try client.exchange(harness.get("/long"))
            let next = try client.exchange(harness.get("/next"))

            #expect(long.status == 200)
            #expect(long.bodyText == "ok")
            #expect(next.status == 200)
            #expect(next.bodyText == "target=/next")
            let statistics = harness.proxy.poolStatistics()
            #expect(statistics.map(\.created) == [2])
            #expect(statistics.map(\.reused) == [0])
        }

        // RFC 9110 §9.3.2: a HEAD answer ends at its head; a body sent anyway is extra bytes.
        @Test("a body sent with a HEAD answer is dropped and that upstream connection is not reused")
        func bodyOnHEADAnswer() async throws {
            var options = ProxyHarness.Options()
            options.workers = 1
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in
                request.method == "HEAD"
                    ? .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8))
                    : .response(.text(200, "target=\(request.target)"))
            }

            let client = try harness.client()
            try client.send("HEAD /head HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let head = try client.readResponse(toHEAD: true)
            let next = try client.exchange(harness.get("/next"))

            #expect(head.status == 200)
            #expect(head.value(of: "content-length") == "5")
            #expect(next.bodyText == "target=/next")
            let statistics = harness.proxy.poolStatistics()
            #expect(statistics.map(\.created) == [2])
            #expect(statistics.map(\.reused) == [0])
        }

        // RFC 9110 §8.6: a Content-Length on a 1xx is the server's mistake and must not reach the client.
        @Test("interim responses reach the client without a Content-Length; more than 32 of them end in a 502")
        func interimResponses() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let hint = "HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nLink: </style.css>; rel=preload\r\n\r\n"
            harness.upstream.respond { request in
                let count = request.target == "/many" ? 33 : 2
                return .raw(Array((String(repeating: hint, count: count) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").utf8))
            }

            let client = try harness.client()
            let few = try client.exchange(harness.get("/few"))
            #expect(few.status == 200)
            #expect(few.bodyText == "ok")
            #expect(few.interimHeads.count == 2)
            #expect(few.interimHeads.allSatisfy { $0.contains("Link: </style.css>; rel=preload") })
            #expect(!few.interimHeads.contains { $0.lowercased().contains("content-length") })

            let many = try harness.client().exchange(harness.get("/many"))
            #expect(many.status == 502)
            #expect(many.interimHeads.count == 32)
        }

        // RFC 9112 §9.3.1: a proxy MUST NOT retry a non-idempotent request on its own. The server
        // may have acted on the POST before it closed the connection; a DELETE may be sent again.
        @Test("a body-less request on a pooled connection the server closes unanswered: POST sent once, DELETE replayed once; 502 either way",
              arguments: [("POST", 1), ("DELETE", 2)])
        func replayOnlyIdempotent(method: String, timesSent: Int) async throws {
            var options = ProxyHarness.Options()
            options.workers = 1
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in
                request.method == "GET" ? .response(.text(200, "target=\(request.target)")) : .rawThenClose([])
            }

            let client = try harness.client()
            #expect(try client.exchange(harness.get("/warm")).status == 200)
            let response = try client.exchange("\(method) /item HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

            #expect(response.status == 502)
            #expect(harness.upstream.requests.map(\.requestLine)
                == ["GET /warm HTTP/1.1"] + Array(repeating: "\(method) /item HTTP/1.1", count: timesSent))
        }

        // RFC 9110 §9.2.2: a proxy must not retry on its own a request the server may be acting on.
        @Test("a response timeout on a reused upstream connection is a 504 within the timeout, without a replay")
        func timeoutOnReusedConnectionIsNotReplayed() async throws {
            var options = ProxyHarness.Options()
            options.workers = 1
            options.upstreamResponseTimeout = "500ms"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            #expect(try client.exchange(harness.get("/warm")).status == 200)
            harness.upstream.delayAnswers(milliseconds: 1500)

            let started = ContinuousClock.now
            let response = try client.exchange("DELETE /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let elapsed = ContinuousClock.now - started
            // A replay would reach the upstream once its loop wakes (after 1.5 s).
            try await Task.sleep(for: .milliseconds(2500))

            #expect(response.status == 504)
            #expect(response.jsonString("error") == "upstream_timeout")
            #expect(elapsed < .milliseconds(1000), "elapsed: \(elapsed)")
            #expect(harness.upstream.requests.map(\.requestLine) == ["GET /warm HTTP/1.1", "DELETE /slow HTTP/1.1"])
        }
    }
}
