@testable import BearerProxy
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The life of a request, phase by phase, with no socket: the client, the upstream connections,
/// the pool's connector and the token endpoint are all in memory and moved by the test. Bytes are
/// fed whole and split at every index; each path ends with exactly one access line.
@Suite("Client session phases")
struct ClientSessionTests {
    static let get = "GET /v1/items?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: t\r\n\r\n"
    static let ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"

    /// The upstream head for `get`, checked field by field: rewritten target and Host, the token.
    static func expectForwardedGet(_ head: String, token: String = "tok-1", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(head.hasPrefix("GET /base/v1/items?x=1 HTTP/1.1\r\n"), sourceLocation: sourceLocation)
        #expect(head.contains("\r\nHost: api.test\r\n"), sourceLocation: sourceLocation)
        #expect(head.contains("\r\nAuthorization: Bearer \(token)\r\n"), sourceLocation: sourceLocation)
        #expect(head.contains("\r\nUser-Agent: t\r\n"), sourceLocation: sourceLocation)
        #expect(head.hasSuffix("\r\n\r\n"), sourceLocation: sourceLocation)
    }

    static func status(of line: String) -> String? {
        line.split(separator: " ").first { $0.hasPrefix("status=") }.map { String($0.dropFirst(7)) }
    }

    @Test("a GET goes upstream with the token once the pool has a connection, and its answer comes back")
    func oneRequest() {
        let harness = SessionHarness()
        harness.send(Self.get)
        #expect(harness.waitingOpens == 1)
        #expect(harness.clientReceived().isEmpty)
        harness.openUpstream()
        Self.expectForwardedGet(harness.upstreamReceived())
        harness.answer(Self.ok)
        let answer = harness.clientReceived()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nhello"))
        #expect(harness.phase == "readingHead")
        #expect(harness.accessLines.count == 1)
        #expect(harness.accessLines.first.flatMap(Self.status) == "200")
    }

    @Test("the route's upstream gauges follow the connection: open and idle after the answer, neither once the server closes it")
    func upstreamGauges() {
        let harness = SessionHarness()
        func gauge(_ name: String) -> Double? {
            let text = String(decoding: harness.metrics.exposition(), as: UTF8.self)
            return text.split(separator: "\n").first { $0.hasPrefix("bearer_proxy_route_upstream_\(name){route=\"0\"} ") }
                .flatMap { Double($0.split(separator: " ").last!) }
        }
        harness.send(Self.get)
        harness.openUpstream()
        #expect(gauge("open_connections") == 1)
        #expect(gauge("idle_connections") == 0)
        harness.answer(Self.ok)
        #expect(gauge("open_connections") == 1)
        #expect(gauge("idle_connections") == 1)
        harness.onLoop { harness.upstream(0).receiveEOF() }
        #expect(gauge("open_connections") == 0)
        #expect(gauge("idle_connections") == 0)
        #expect(gauge("connections_created_total") == 1)
    }

    @Test("a request head split at every index is forwarded the same")
    func requestSplitAtEveryIndex() {
        let bytes = Array(Self.get.utf8)
        for split in 1..<bytes.count {
            let harness = SessionHarness()
            harness.send(Array(bytes[..<split]))
            #expect(harness.waitingOpens == 0, "split at \(split): nothing goes upstream before the head is complete")
            harness.send(Array(bytes[split...]))
            harness.openUpstream()
            Self.expectForwardedGet(harness.upstreamReceived())
        }
    }

    @Test("a response split at every index reaches the client whole")
    func responseSplitAtEveryIndex() {
        let bytes = Array(Self.ok.utf8)
        var whole: String?
        for split in 1..<bytes.count {
            let harness = SessionHarness()
            harness.send(Self.get)
            let upstream = harness.openUpstream()
            harness.onLoop { upstream.receive(Array(bytes[..<split])) }
            harness.onLoop { upstream.receive(Array(bytes[split...])) }
            let answer = harness.clientReceived()
            #expect(answer.hasSuffix("\r\n\r\nhello"), "split at \(split)")
            if let whole { #expect(answer == whole, "split at \(split)") } else { whole = answer }
            #expect(harness.phase == "readingHead")
            #expect(harness.upstream().isOpen, "split at \(split): the connection went back to the pool")
        }
    }

    @Test("without a cached token the request waits for the fetch, and no upstream connection is opened before it")
    func waitsForToken() {
        let harness = SessionHarness(token: nil)
        harness.send(Self.get)
        #expect(harness.phase == "waitingForToken")
        #expect(harness.waitingOpens == 0)
        harness.tokens.fetcher.answer(.success(TokenFixture.grant("tok-9")))
        harness.onLoop {}
        #expect(harness.waitingOpens == 1)
        harness.openUpstream()
        Self.expectForwardedGet(harness.upstreamReceived(), token: "tok-9")
    }

    @Test("a token that cannot be had is a 503 with Retry-After, on a connection that stays open")
    func tokenFailure() {
        let harness = SessionHarness(token: nil)
        harness.send(Self.get)
        harness.tokens.fetcher.answer(.failure(.unreachable("connection refused")))
        harness.onLoop {}
        let answer = harness.clientReceived()
        #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(answer.contains("\r\nRetry-After: "))
        #expect(answer.contains("\"error\":\"token_unavailable\""))
        #expect(harness.waitingOpens == 0)
        #expect(harness.phase == "readingHead")
        #expect(harness.accessLines.map(Self.status) == ["503"])
    }

    @Test("body bytes that come with the head wait for the upstream connection, then follow the head")
    func bodyBeforeUpstream() {
        let harness = SessionHarness()
        harness.send("POST /v1/items HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 11\r\n\r\nhello world")
        harness.openUpstream()
        let sent = harness.upstreamReceived()
        #expect(sent.hasPrefix("POST /base/v1/items HTTP/1.1\r\n"))
        #expect(sent.contains("\r\nContent-Length: 11\r\n"))
        #expect(sent.hasSuffix("\r\n\r\nhello world"))
    }

    @Test("a chunked body split at every index arrives upstream with the same payload, still chunked")
    func chunkedBodySplit() throws {
        let request = Array("POST /up HTTP/1.1\r\nHost: localhost:8080\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n".utf8)
        let headEnd = request.firstRange(of: Array("\r\n\r\n".utf8))!.upperBound
        for split in headEnd..<request.count {
            let harness = SessionHarness()
            harness.send(Array(request[..<split]))
            harness.openUpstream()
            harness.send(Array(request[split...]))
            let sent = harness.upstreamReceived()
            #expect(sent.contains("\r\nTransfer-Encoding: chunked\r\n"), "split at \(split)")
            let body = String(sent[sent.range(of: "\r\n\r\n")!.upperBound...])
            #expect(try Self.dechunk(body) == "hello world", "split at \(split): \(body.debugDescription)")
            #expect(!body.contains("Trailer"), "split at \(split): trailers are not forwarded")
        }
    }

    @Test("pipelined requests are answered in order, the second sent upstream only after the first is answered")
    func pipelined() {
        let harness = SessionHarness()
        harness.send(Self.get + Self.get.replacingOccurrences(of: "/v1/items?x=1", with: "/v1/second"))
        harness.openUpstream()
        let first = harness.upstreamReceived()
        #expect(first.hasPrefix("GET /base/v1/items?x=1 "))
        #expect(!first.contains("second"))
        harness.answer(Self.ok)
        // The pooled connection is reused for the next request: no new open.
        #expect(harness.waitingOpens == 0)
        #expect(harness.upstreamReceived().hasPrefix("GET /base/v1/second HTTP/1.1\r\n"))
        harness.answer(Self.ok.replacingOccurrences(of: "hello", with: "world"))
        let answers = harness.clientReceived()
        #expect(answers.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
        #expect(answers.range(of: "hello")!.lowerBound < answers.range(of: "world")!.lowerBound)
        #expect(harness.accessLines.count == 2)
    }

    @Test("a 401 that rejects the token is answered by the request again, with a new token, on a new connection")
    func unauthorizedReplay() {
        let harness = SessionHarness()
        harness.tokens.clock.advance(.seconds(60))  // past the provider's minimum interval between fetches
        harness.send("PUT /v1/items/7 HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 4\r\n\r\ndata")
        let first = harness.openUpstream()
        _ = harness.upstreamReceived()
        harness.answer("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\nContent-Length: 0\r\n\r\n")
        #expect(!first.isOpen, "the rejected attempt's connection is closed, not pooled")
        #expect(harness.clientReceived().isEmpty, "the client does not see the 401")
        harness.tokens.fetcher.answer(.success(TokenFixture.grant("tok-2")))
        harness.onLoop {}
        harness.openUpstream()
        let replay = harness.upstreamReceived()
        #expect(replay.hasPrefix("PUT /base/v1/items/7 HTTP/1.1\r\n"))
        #expect(replay.contains("\r\nAuthorization: Bearer tok-2\r\n"))
        #expect(replay.hasSuffix("\r\n\r\ndata"), "the body is sent again from what was kept")
        harness.answer(Self.ok)
        #expect(harness.clientReceived().hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(harness.accessLines.map(Self.status) == ["200"])
    }

    @Test("a 401 that does not say invalid_token goes to the client as it came")
    func unauthorizedRelayed() {
        let harness = SessionHarness()
        harness.send(Self.get)
        harness.openUpstream()
        harness.answer("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"api\"\r\nContent-Length: 0\r\n\r\n")
        #expect(harness.clientReceived().hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
        #expect(harness.tokens.fetcher.callCount == 1, "only the warm-up fetch")
    }

    @Test("an idempotent request on a pooled connection the server had closed is sent once more on a new one")
    func stalePooledConnection() {
        let harness = SessionHarness()
        harness.send(Self.get)
        harness.openUpstream()
        harness.answer(Self.ok)
        _ = harness.clientReceived()
        harness.send(Self.get)
        #expect(harness.waitingOpens == 0, "the pooled connection is used")
        _ = harness.upstreamReceived()
        harness.onLoop { harness.upstream().receiveEOF() }
        #expect(harness.waitingOpens == 1, "a fresh connection is asked for")
        harness.openUpstream()
        Self.expectForwardedGet(harness.upstreamReceived())
        harness.answer(Self.ok)
        #expect(harness.clientReceived().hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(harness.accessLines.map(Self.status) == ["200", "200"])
    }

    @Test("a POST on a pooled connection the server closed is not sent again (RFC 9112 §9.3.1): 502")
    func stalePooledConnectionPost() {
        let harness = SessionHarness()
        harness.send(Self.get)
        harness.openUpstream()
        harness.answer(Self.ok)
        _ = harness.clientReceived()
        harness.send("POST /v1/pay HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 0\r\n\r\n")
        harness.onLoop { harness.upstream().receiveEOF() }
        #expect(harness.waitingOpens == 0)
        #expect(harness.clientReceived().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        #expect(harness.accessLines.map(Self.status) == ["200", "502"])
    }

    @Test("a head not finished in time is a 408 and the connection closes")
    func headTimeout() {
        let harness = SessionHarness()
        harness.send("GET /v1/items HTTP/1.1\r\nHost: local")
        harness.onLoop { harness.client.expire() }
        let answer = harness.clientReceived()
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(answer.contains("\r\nConnection: close\r\n"))
        #expect(harness.client.state == .closedAfterFlush(peerIsDone: false))
        #expect(harness.accessLines.map(Self.status) == ["408"])
    }

    @Test("an idle keep-alive connection that times out is closed without an answer or a log line")
    func idleTimeout() {
        let harness = SessionHarness()
        harness.onLoop { harness.client.expire() }
        #expect(harness.clientReceived().isEmpty)
        #expect(harness.client.state == .closedAfterFlush(peerIsDone: false))
        #expect(harness.accessLines.isEmpty)
    }

    @Test("an upstream that does not answer in time is a 504")
    func upstreamTimeout() {
        let harness = SessionHarness()
        harness.send(Self.get)
        let upstream = harness.openUpstream()
        harness.onLoop { upstream.expire() }
        #expect(harness.clientReceived().hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n"))
        #expect(!upstream.isOpen)
        #expect(harness.accessLines.map(Self.status) == ["504"])
    }

    @Test("an upstream connection that cannot be opened is a 502; one that timed out is a 504")
    func connectFailure() {
        let harness = SessionHarness()
        harness.send(Self.get)
        harness.failOpen(.io(IOError("connect api.test:443", errno: ECONNREFUSED)))
        #expect(harness.clientReceived().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        harness.send(Self.get)
        harness.failOpen(.io(IOError("connect api.test:443", errno: ETIMEDOUT)))
        #expect(harness.clientReceived().hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n"))
        #expect(harness.accessLines.map(Self.status) == ["502", "504"])
    }

    @Test("a response cut short by the upstream cuts the client off instead of ending the body early")
    func truncatedResponse() {
        let harness = SessionHarness()
        harness.send(Self.get)
        let upstream = harness.openUpstream()
        harness.answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        harness.onLoop { upstream.receiveEOF() }
        #expect(harness.client.state == .closed, "closed without a graceful end")
        #expect(harness.accessLines.map(Self.status) == ["200"])
    }

    @Test("a client that stops reading pauses the upstream; reading resumes when it catches up")
    func backPressure() {
        let harness = SessionHarness()
        harness.send(Self.get)
        let upstream = harness.openUpstream()
        harness.onLoop { harness.client.peerReads = false }
        let size = SizeLimits.highWaterMark * 2
        harness.answer("HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\n\r\n" + String(repeating: "x", count: size / 2))
        #expect(upstream.readingPaused)
        harness.onLoop { harness.client.acceptOutput() }
        #expect(!upstream.readingPaused)
        harness.answer(String(repeating: "x", count: size / 2))
        #expect(harness.clientReceived().hasSuffix(String(repeating: "x", count: 100)))
        #expect(harness.phase == "readingHead")
    }

    @Test("a WebSocket handshake carries the token, and after 101 bytes flow both ways until one side closes")
    func webSocket() {
        let harness = SessionHarness()
        harness.send("GET /chat HTTP/1.1\r\nHost: localhost:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let upstream = harness.openUpstream()
        let handshake = harness.upstreamReceived()
        #expect(handshake.contains("\r\nAuthorization: Bearer tok-1\r\n"))
        #expect(handshake.contains("\r\nUpgrade: websocket\r\n"))
        harness.answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nfrom-upstream")
        let answer = harness.clientReceived()
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nfrom-upstream"))
        #expect(harness.phase == "tunneling")
        harness.send("from-client")
        #expect(harness.upstreamReceived() == "from-client")
        harness.onLoop { upstream.receiveEOF() }
        #expect(harness.client.state == .closedAfterFlush(peerIsDone: false))
        #expect(harness.accessLines.map(Self.status) == ["101"])
    }

    @Test("a client that leaves within its body is recorded once, with status 0, and the upstream connection is closed")
    func clientLeavesWithinBody() {
        let harness = SessionHarness(token: nil)
        harness.send("POST /v1 HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 10\r\n\r\nabc")
        harness.clientEOF()
        // Reading waits while the token is fetched, so the FIN is seen once the body is read again.
        #expect(harness.phase == "waitingForToken")
        harness.tokens.fetcher.answer(.success(TokenFixture.grant("tok-9")))
        harness.onLoop {}
        let upstream = harness.openUpstream()
        #expect(harness.phase == "closed")
        #expect(harness.client.state == .closed)
        #expect(!upstream.isOpen, "a connection with half a request on it is not pooled")
        #expect(harness.accessLines.map(Self.status) == ["0"])
    }

    @Test("a client that stalls in its body after the response started is cut, not sent a 408 inside that response")
    func bodyTimeoutAfterResponse() {
        let harness = SessionHarness()
        harness.send("POST /v1 HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 10\r\n\r\nabc")
        harness.openUpstream()
        harness.answer("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nfirst part")
        _ = harness.clientReceived()
        harness.onLoop { harness.client.expire() }
        #expect(!harness.clientReceived().contains("408"))
        #expect(harness.client.state == .closed)
        #expect(!harness.upstream().isOpen)
        #expect(harness.accessLines.map(Self.status) == ["200"])
    }

    @Test("an answer that comes before the whole request closes the client connection after it, and the upstream one")
    func earlyAnswer() {
        let harness = SessionHarness()
        harness.send("POST /v1 HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 10\r\n\r\nabc")
        let upstream = harness.openUpstream()
        harness.answer("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n")
        let answer = harness.clientReceived()
        #expect(answer.hasPrefix("HTTP/1.1 413 "))
        #expect(answer.contains("\r\nConnection: close\r\n"))
        #expect(harness.client.state == .closedAfterFlush(peerIsDone: false), "lingers: the client may still be sending")
        #expect(!upstream.isOpen, "a connection with half a request on it is not pooled")
        #expect(harness.accessLines.map(Self.status) == ["413"])
    }

    @Test("a refused request is answered and logged once, and never opens an upstream connection")
    func refused() {
        let harness = SessionHarness()
        harness.send("GET /v1 HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        #expect(harness.clientReceived().hasPrefix("HTTP/1.1 421 Misdirected Request\r\n"))
        #expect(harness.waitingOpens == 0)
        #expect(harness.accessLines.map(Self.status) == ["421"])
        #expect(harness.accessLines.first?.contains("route=none") == true)
    }

    /// The payload of a chunked body (RFC 9112 §7.1), which must end with the last chunk and no
    /// trailer. Worked on bytes: in a String, "\r\n" is one Character.
    static func dechunk(_ body: String) throws -> String {
        var rest = Array(body.utf8)[...]
        var payload: [UInt8] = []
        let crlf: [UInt8] = [0x0D, 0x0A]
        while true {
            guard let lineEnd = rest.firstRange(of: crlf) else { throw DechunkError() }
            let line = rest[..<lineEnd.lowerBound].split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)[0]
            guard let size = Int(String(decoding: line, as: UTF8.self), radix: 16) else { throw DechunkError() }
            rest = rest[lineEnd.upperBound...]
            if size == 0 {
                guard rest.elementsEqual(crlf) else { throw DechunkError() }
                return String(decoding: payload, as: UTF8.self)
            }
            guard rest.count >= size + 2, rest.dropFirst(size).prefix(2).elementsEqual(crlf) else { throw DechunkError() }
            payload += rest.prefix(size)
            rest = rest.dropFirst(size + 2)
        }
    }

    struct DechunkError: Error {}
}
