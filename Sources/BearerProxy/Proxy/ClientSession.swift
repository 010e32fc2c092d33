import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One client connection and the requests on it, answered one at a time and in order.
///
/// The life of a request is a sequence of phases, each a `State`:
/// read the head → get a token → get an upstream connection → stream the request body up and
/// the response down → back to reading the next head (keep-alive and pipelining) or close.
/// Both the client connection and the upstream connection of the current request belong to the
/// session's loop; every method runs on `loop.queue`.
/// @unchecked Sendable: every mutable property is touched only on `context.loop.queue`.
final class ClientSession: ConnectionDelegate, @unchecked Sendable {
    enum State {
        case waitingForRequest
        case waitingForToken
        case connectingUpstream
        case exchanging
        case closed
    }

    /// The request in flight and everything known about its exchange with the upstream.
    /// A class, so that the phases update it in place instead of copying its buffers.
    private final class Exchange {
        var head: RequestHead
        var targetForm: ForwardingRules.TargetForm
        var requestFraming: BodyFraming
        var requestBody: BodyDecoder
        var clientKeepAlive: Bool
        var startedAt: UInt64
        var upstream: Connection?
        var upstreamReused = false
        /// When the request head went upstream (0: not yet), for the upstream time in metrics and logs.
        var upstreamStartedAt: UInt64 = 0
        /// Request body payload bytes read from the client (after de-chunking).
        var retriedOnFreshConnection = false
        /// Kept until the first response byte, to replay a body-less request once on a fresh
        /// connection when a pooled one turns out to have been closed by the server.
        var upstreamHead: [UInt8] = []
        var responseInput: [UInt8] = []
        var response: ResponseHead?
        var responseBody: BodyDecoder?
        var clientFraming: ForwardingRules.ClientFraming = .none
        var responseBytesSent = 0
        /// The token this attempt carries, to drop it if the upstream rejects it.
        var token: AccessToken?
        var retriedAfterUnauthorized = false
        var requestBytesForwarded: UInt64 = 0
        var responseHeadSent = false

        var requestComplete: Bool { requestBody.isComplete }

        init(head: RequestHead, targetForm: ForwardingRules.TargetForm, requestFraming: BodyFraming,
             requestBody: BodyDecoder, clientKeepAlive: Bool, startedAt: UInt64) {
            self.head = head
            self.targetForm = targetForm
            self.requestFraming = requestFraming
            self.requestBody = requestBody
            self.clientKeepAlive = clientKeepAlive
            self.startedAt = startedAt
        }
    }

    private let client: Connection
    private let context: LoopContext
    private let clientAddress: String
    private var state: State = .waitingForRequest
    private var exchange: Exchange?
    /// Client bytes read but not yet used: a partial head, body bytes that arrived before the
    /// upstream was ready, or pipelined requests waiting their turn.
    private var input: [UInt8] = []
    private var clientSentEOF = false
    /// Set while `process` runs, so that a completion called synchronously from inside it does
    /// not start a second, nested pass over the same input.
    private var processing = false

    /// Output waiting for a slow reader beyond which the other side stops being read (back-pressure).
    static let highWaterMark = 64 * 1024
    /// Pipelined bytes held while the current request is in flight.
    static let maxBufferedInput = 64 * 1024

    private var loop: EventLoop { context.loop }

    init(client: Connection, context: LoopContext, clientAddress: String) {
        self.client = client
        self.context = context
        self.clientAddress = clientAddress
    }

    func start() {
        client.delegate = self
        client.start()
        client.deadline = EventLoop.deadline(after: context.settings.idleTimeout)
        context.openSessions += 1
        context.connections.opened()
        context.sessionOpened(self)
    }

    // MARK: Client input

    private func clientDidRead(_ bytes: UnsafeRawBufferPointer) {
        if input.isEmpty {
            // The common case: use the bytes where they are and keep only what is left over.
            let used = process(bytes)
            if used < bytes.count, state != .closed {
                input.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[used...]))
            }
        } else {
            input.append(contentsOf: bytes)
            processBufferedInput()
        }
        if state == .waitingForRequest, clientSentEOF { close(graceful: true) }
        updateReading()
    }

    private func processBufferedInput() {
        guard !processing, !input.isEmpty else { return }
        // Take the bytes out first: processing may close the session, which clears `input`.
        let buffered = input
        input = []
        let used = buffered.withUnsafeBytes { process($0) }
        guard state != .closed, used < buffered.count else { return }
        input = Array(buffered[used...]) + input
    }

    /// Uses as much of `bytes` as the current phase can, moving through phases as it goes.
    /// Returns how many bytes were used.
    private func process(_ bytes: UnsafeRawBufferPointer) -> Int {
        processing = true
        defer { processing = false }
        var offset = 0
        while state != .closed {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch state {
            case .waitingForRequest:
                guard !rest.isEmpty else { return offset }
                let parsed: (head: RequestHead, consumed: Int)?
                do {
                    parsed = try headParser.parse(rest)
                } catch {
                    fail(.badRequest(error))
                    return bytes.count
                }
                guard let (head, consumed) = parsed else {
                    // A head has started: it must be complete within the header timeout.
                    if !headStarted {
                        headStarted = true
                        client.deadline = EventLoop.deadline(after: context.settings.headerTimeout)
                    }
                    return offset
                }
                offset += consumed
                headStarted = false
                begin(head)
            case .exchanging where exchange?.requestComplete == false && exchange?.upstream != nil:
                guard !rest.isEmpty else { return offset }
                offset += forwardRequestBody(rest)
                if exchange?.requestComplete == false { return offset }
            default:
                return offset
            }
        }
        return bytes.count
    }

    private var headStarted = false
    /// Resumes where the last read left off, so a head arriving byte by byte is scanned once.
    private lazy var headParser = RequestHeadParser(limits: context.settings.httpLimits)

    // MARK: Phases

    private func begin(_ head: RequestHead) {
        if head.isCONNECT {
            fail(.methodNotAllowed("CONNECT"))
            return
        }
        // RFC 9110 §7.8: a server may ignore Upgrade. h2c is dropped silently (the request goes on
        // as HTTP/1.1); any other protocol switch (WebSocket) would need a tunnel we do not offer.
        if head.count(named: "upgrade") > 0, !Self.onlyH2CUpgrade(head) {
            fail(.upgradeNotSupported)
            return
        }
        // HTTP/1.0 requests may omit Host; the parser requires exactly one in HTTP/1.1.
        if let host = head.firstValue(named: "host"), !context.hosts.allows(host) {
            fail(.misdirected(String(decoding: host.prefix(100), as: UTF8.self)))
            return
        }
        guard let form = ForwardingRules.targetForm(of: head) else {
            fail(.badRequest(.invalidTarget))
            return
        }
        let framing: BodyFraming
        do {
            framing = try head.bodyFraming()
        } catch {
            fail(.badRequest(error))
            return
        }
        if let limit = context.settings.maxBodySize, case .contentLength(let length) = framing, length > limit {
            fail(.bodyTooLarge(limit))
            return
        }
        let keepAlive = head.version == .http1_1 && !head.hasToken("close", inFieldsNamed: "connection")
        exchange = Exchange(
            head: head, targetForm: form, requestFraming: framing,
            requestBody: BodyDecoder(framing: framing, limits: context.settings.httpLimits),
            clientKeepAlive: keepAlive, startedAt: EventLoop.now())
        state = .waitingForToken
        client.deadline = 0
        context.tokens.token(on: loop) { [self] result in
            loop.assertOnLoop()
            tokenArrived(result)
        }
    }

    private func tokenArrived(_ result: Result<AccessToken, TokenError>) {
        guard state == .waitingForToken else { return }
        switch result {
        case .failure(let error):
            fail(.tokenUnavailable(error))
        case .success(let token):
            state = .connectingUpstream
            acquireUpstream(token: token, fresh: false)
        }
    }

    private func acquireUpstream(token: AccessToken, fresh: Bool) {
        context.pool.acquire(fresh: fresh) { [self] result in
            guard state == .connectingUpstream, exchange != nil else {
                if case .success(let (connection, _)) = result { context.pool.release(connection) }
                return
            }
            switch result {
            case .failure(let error):
                context.logger.warning("upstream connection failed", metadata: ["reason": "\(error)"])
                if case .io(let io) = error, io.errno == ETIMEDOUT {
                    fail(.upstreamTimedOut(error.description))
                } else {
                    fail(.upstreamUnavailable(error))
                }
            case .success(let (connection, reused)):
                startExchange(on: connection, reused: reused, token: token)
            }
        }
    }

    private func startExchange(on upstream: Connection, reused: Bool, token: AccessToken) {
        guard let exchange else { return }
        upstream.delegate = self
        let head = exchange.upstreamHead.isEmpty
            ? context.rules.upstreamHead(for: exchange.head, form: exchange.targetForm, framing: exchange.requestFraming,
                                         token: token, clientAddress: clientAddress)
            : exchange.upstreamHead
        exchange.upstream = upstream
        exchange.upstreamReused = reused
        exchange.token = token
        exchange.upstreamStartedAt = EventLoop.now()
        if case .none = exchange.requestFraming { exchange.upstreamHead = head }
        state = .exchanging
        upstream.write(head)
        upstream.deadline = EventLoop.deadline(after: context.settings.responseTimeout)
        processBufferedInput()
        if state == .exchanging { upstream.flush() }
        updateReading()
    }

    /// Sends request body bytes upstream, re-framed as the upstream head announced.
    private func forwardRequestBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let exchange, let upstream = exchange.upstream else { return 0 }
        let chunked = exchange.requestFraming == .chunked
        let used: Int
        var forwarded = 0
        do {
            used = try exchange.requestBody.decode(bytes) { payload in
                forwarded += payload.count
                if chunked { upstream.writeChunk(payload) } else { upstream.write(payload) }
            }
        } catch {
            fail(.badRequest(error))
            return bytes.count
        }
        exchange.requestBytesForwarded += UInt64(forwarded)
        if let limit = context.settings.maxBodySize, exchange.requestBytesForwarded > limit {
            fail(.bodyTooLarge(limit))  // a chunked body grew past the cap: the upstream gets a cut-off request and is closed
            return bytes.count
        }
        if exchange.requestComplete {
            if chunked { upstream.writeLastChunk() }
            client.deadline = 0
        } else {
            client.deadline = EventLoop.deadline(after: context.settings.bodyTimeout)
        }
        upstream.flush()
        return used
    }

    // MARK: Upstream input

    private func upstreamDidRead(_ bytes: UnsafeRawBufferPointer) {
        guard let exchange, let upstream = exchange.upstream else { return }
        upstream.deadline = EventLoop.deadline(after: context.settings.responseTimeout)
        exchange.upstreamHead = []  // the server has answered: never replay this request
        if exchange.responseBody == nil {
            exchange.responseInput.append(contentsOf: bytes)
            parseResponseHead()
            return
        }
        relayResponseBody(bytes)
    }

    private func parseResponseHead() {
        guard let exchange else { return }
        while exchange.responseBody == nil {
            let parsed: (head: ResponseHead, consumed: Int)?
            do {
                parsed = try exchange.responseInput.withBytes { buffer throws(HTTP1Error) in
                    try HeadParser.parseResponseHead(buffer, limits: context.settings.upstreamHTTPLimits)
                }
            } catch {
                upstreamFailed(.upstreamInvalidResponse(error.detail))
                return
            }
            guard let (head, consumed) = parsed else {
                return
            }
            exchange.responseInput.removeFirst(consumed)
            if head.status < 200 {
                // RFC 9110 §15.2: 100 and 103 go to HTTP/1.1 clients; 101 cannot happen since
                // Upgrade is never forwarded, so it is a protocol error.
                if head.status == 101 {
                    upstreamFailed(.upstreamInvalidResponse("101 Switching Protocols without an Upgrade request"))
                    return
                }
                if exchange.head.version == .http1_1 {
                    client.write(context.rules.clientInterimHead(for: head))
                    client.flush()
                }
                continue
            }
            if head.status == 401, retryWithNewToken(after: head) { return }
            let framing: BodyFraming
            do {
                framing = try head.bodyFraming(requestMethodIsHEAD: exchange.head.isHEAD)
            } catch {
                upstreamFailed(.upstreamInvalidResponse(error.detail))
                return
            }
            exchange.clientFraming = ForwardingRules.clientFraming(for: framing, clientVersion: exchange.head.version)
            if exchange.clientFraming == .untilClose || !exchange.requestComplete {
                exchange.clientKeepAlive = false
            }
            exchange.response = head
            exchange.responseBody = BodyDecoder(framing: framing, limits: context.settings.upstreamHTTPLimits)
            client.write(context.rules.clientHead(for: head, framing: exchange.clientFraming, close: !exchange.clientKeepAlive))
            exchange.responseHeadSent = true
        }
        let rest = exchange.responseInput
        exchange.responseInput = []
        if rest.isEmpty {
            finishIfResponseComplete()
        } else {
            rest.withUnsafeBytes { relayResponseBody($0) }
        }
    }

    private func relayResponseBody(_ bytes: UnsafeRawBufferPointer) {
        guard let exchange, var decoder = exchange.responseBody else { return }
        let chunked = exchange.clientFraming == .chunked
        var sent = 0
        do {
            _ = try decoder.decode(bytes) { payload in
                sent += payload.count
                if chunked { client.writeChunk(payload) } else { client.write(payload) }
            }
        } catch {
            upstreamFailed(.upstreamInvalidResponse(error.detail))
            return
        }
        exchange.responseBody = decoder
        exchange.responseBytesSent += sent
        finishIfResponseComplete()
    }

    private func finishIfResponseComplete() {
        guard let exchange, let decoder = exchange.responseBody else { return }
        if decoder.isComplete {
            if exchange.clientFraming == .chunked { client.writeLastChunk() }
            client.flush()
            completeExchange(upstreamReusable: exchange.requestComplete)
        } else {
            client.flush()
            updateReading()
        }
    }

    /// The response has been relayed in full.
    private func completeExchange(upstreamReusable: Bool) {
        guard let exchange, let upstream = exchange.upstream, let response = exchange.response else { return }
        let responseKeepAlive = response.version == .http1_1 && !response.hasToken("close", inFieldsNamed: "connection")
        if upstreamReusable, responseKeepAlive, exchange.clientFraming != .untilClose {
            context.pool.release(upstream)
        } else {
            upstream.close()
        }
        logAccess(exchange, status: response.status)
        self.exchange = nil
        if exchange.clientKeepAlive, !clientSentEOF || !input.isEmpty {
            state = .waitingForRequest
            client.deadline = EventLoop.deadline(after: context.settings.idleTimeout)
            processBufferedInput()
            // After the client's FIN, only the requests it had already sent are answered.
            if state == .waitingForRequest, clientSentEOF { close(graceful: true) }
            updateReading()
        } else {
            close(graceful: true)
        }
    }

    // MARK: Upstream 401

    /// The upstream rejected our token. Drop it (if it is still the current one), get a new one
    /// and replay the request once, when the request can be replayed: it has no body, so nothing
    /// of it is lost. Returns false when the 401 must go to the client as it came.
    private func retryWithNewToken(after response: ResponseHead) -> Bool {
        guard let exchange, let token = exchange.token, !exchange.retriedAfterUnauthorized,
              exchange.requestComplete, Self.isReplayable(exchange.requestFraming) else { return false }
        switch context.settings.retryUnauthorized {
        case .never:
            return false
        case .any:
            break
        case .invalidToken:
            // RFC 6750 §3.1: the resource server says the token itself is bad.
            guard Self.saysInvalidToken(response) else { return false }
        }
        if context.tokens.invalidate(token) == .tooSoon { return false }
        context.logger.info("upstream rejected the bearer token; retrying once with a new token", metadata: [
            "path": "\(exchange.head.targetString.split(separator: "?", maxSplits: 1).first ?? "")",
        ])
        // The 401's body is not wanted: close rather than drain that connection.
        exchange.upstream?.close()
        exchange.upstream = nil
        exchange.retriedAfterUnauthorized = true
        exchange.response = nil
        exchange.responseBody = nil
        exchange.responseInput = []
        exchange.upstreamHead = []
        exchange.upstreamReused = false
        exchange.token = nil
        state = .waitingForToken
        context.tokens.token(on: loop) { [self] result in
            loop.assertOnLoop()
            tokenArrived(result)
        }
        return true
    }

    private static func isReplayable(_ framing: BodyFraming) -> Bool {
        switch framing {
        case .none, .contentLength(0): return true
        default: return false
        }
    }

    private static func saysInvalidToken(_ response: ResponseHead) -> Bool {
        for field in response.fields where response.fieldNameIs(field, "www-authenticate") {
            let value = String(decoding: response.value(field), as: UTF8.self).lowercased()
            if value.contains("bearer"), value.contains("invalid_token") { return true }
        }
        return false
    }

    // MARK: Failures

    /// Ends the current request with an error response when none has started, else cuts the client off.
    private func fail(_ error: ProxyError) {
        guard state != .closed else { return }
        let responseStarted = exchange?.responseHeadSent ?? false
        if error.side == .downstream {
            context.logger.debug("rejected request", metadata: ["client": "\(clientAddress)", "reason": "\(error)"])
        }
        if let exchange {
            logAccess(exchange, status: responseStarted ? (exchange.response?.status ?? 0) : ErrorResponse.status(for: error).code)
            exchange.upstream?.close()
        }
        // The connection can carry on only when the request was read in full and the error is not
        // about the client's own bytes.
        let keepAlive = !responseStarted && error.side != .downstream && (exchange?.requestComplete ?? false)
            && (exchange?.clientKeepAlive ?? false) && !clientSentEOF
        exchange = nil
        if responseStarted {
            close(graceful: false)
            return
        }
        client.write(ErrorResponse.bytes(for: error, close: !keepAlive))
        if keepAlive {
            client.flush()
            state = .waitingForRequest
            client.deadline = EventLoop.deadline(after: context.settings.idleTimeout)
            processBufferedInput()
            updateReading()
        } else {
            close(graceful: true)
        }
    }

    private func upstreamFailed(_ error: ProxyError) {
        guard let exchange else { return }
        // A pooled connection the server had already closed: replay a body-less request once.
        if exchange.upstreamReused, !exchange.retriedOnFreshConnection, !exchange.upstreamHead.isEmpty,
           exchange.response == nil, exchange.responseInput.isEmpty {
            exchange.upstream?.close()
            exchange.upstream = nil
            exchange.retriedOnFreshConnection = true
            let head = exchange.upstreamHead
            state = .connectingUpstream
            context.pool.acquire(fresh: true) { [self] result in
                guard state == .connectingUpstream, self.exchange != nil else {
                    if case .success(let (connection, _)) = result { connection.close() }
                    return
                }
                switch result {
                case .failure(let error):
                    fail(.upstreamUnavailable(error))
                case .success(let (connection, _)):
                    self.exchange?.upstreamHead = head
                    resend(head, on: connection)
                }
            }
            return
        }
        context.logger.warning("upstream failed", metadata: ["reason": "\(error)"])
        fail(error)
    }

    private func resend(_ head: [UInt8], on upstream: Connection) {
        upstream.delegate = self
        exchange?.upstream = upstream
        exchange?.upstreamReused = false
        state = .exchanging
        upstream.write(head)
        upstream.deadline = EventLoop.deadline(after: context.settings.responseTimeout)
        upstream.flush()
        updateReading()
    }

    private func close(graceful: Bool) {
        guard state != .closed else { return }
        state = .closed
        exchange?.upstream?.close()
        exchange = nil
        input = []
        context.openSessions -= 1
        context.connections.closed()
        context.sessionClosed(self)
        if graceful { client.closeAfterFlush() } else { client.close() }
    }

    // MARK: Flow control

    /// Reads from each side only while the other side keeps up and the phase can use the bytes.
    private func updateReading() {
        guard state != .closed else { return }
        let wantClient: Bool
        switch state {
        case .waitingForRequest:
            wantClient = !clientSentEOF
        case .waitingForToken, .connectingUpstream:
            wantClient = false
        case .exchanging:
            if let exchange, !exchange.requestComplete {
                wantClient = (exchange.upstream?.pendingOutputBytes ?? 0) < Self.highWaterMark
            } else {
                wantClient = input.count < Self.maxBufferedInput && !clientSentEOF
            }
        case .closed:
            return
        }
        if wantClient { client.resumeReading() } else { client.pauseReading() }
        if let upstream = exchange?.upstream {
            if client.pendingOutputBytes < Self.highWaterMark { upstream.resumeReading() } else { upstream.pauseReading() }
        }
    }

    // MARK: ConnectionDelegate

    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        if connection === client {
            clientDidRead(bytes)
        } else if connection === exchange?.upstream {
            upstreamDidRead(bytes)
            updateReading()
        }
    }

    func connectionDidReadEOF(_ connection: Connection) {
        if connection === client {
            clientSentEOF = true
            if exchange?.requestComplete == true {
                return  // half-close after a complete request: answer it, then close
            }
            // Idle, or gave up within a head or a body.
            close(graceful: state == .waitingForRequest)
            return
        }
        guard connection === exchange?.upstream, let exchange else { return }
        guard var decoder = exchange.responseBody else {
            upstreamFailed(.upstreamClosed("upstream closed the connection before answering"))
            return
        }
        do {
            try decoder.finishAtEOF()
        } catch {
            // Truncated body: the client must see the connection end, not a short "complete" body.
            context.logger.warning("upstream closed mid-response", metadata: ["reason": "\(error.detail)"])
            logAccess(exchange, status: exchange.response?.status ?? 0)
            close(graceful: false)
            return
        }
        exchange.responseBody = decoder
        client.flush()
        completeExchange(upstreamReusable: false)
    }

    func connection(_ connection: Connection, didFail error: ConnectionError) {
        if connection === client {
            close(graceful: false)
        } else if connection === exchange?.upstream {
            exchange?.upstream = nil
            upstreamFailed(.upstreamUnavailable(error))
        }
    }

    func connectionDidDrain(_ connection: Connection) {
        updateReading()
    }

    func connectionDidTimeOut(_ connection: Connection) {
        if connection === client {
            switch state {
            case .waitingForRequest where !headStarted:
                close(graceful: true)  // idle keep-alive connection
            default:
                client.write(ErrorResponse.json(status: 408, reason: "Request Timeout", error: "request_timeout",
                                                detail: "the request was not received in time", close: true))
                if let exchange { logAccess(exchange, status: 408) }
                close(graceful: true)
            }
        } else if connection === exchange?.upstream {
            upstreamFailed(.upstreamTimedOut("upstream did not answer within \(context.settings.responseTimeout)"))
        }
    }

    func connectionDidOpen(_ connection: Connection) {}

    // MARK: Helpers


    private static func onlyH2CUpgrade(_ head: RequestHead) -> Bool {
        for field in head.fields where head.fieldNameIs(field, "upgrade") {
            let value = head.value(field).map(asciiLowercased)
            if value != Array("h2c".utf8) { return false }
        }
        return true
    }

    /// Metrics and the access log line for one finished request; called exactly once per request.
    private func logAccess(_ exchange: Exchange, status: Int) {
        let now = EventLoop.now()
        let upstreamTime = exchange.upstreamStartedAt == 0 ? nil : now &- exchange.upstreamStartedAt
        context.metrics.recordRequest(
            methodIndex: ProxyMetrics.methodIndex(exchange.head.raw[exchange.head.method]), status: status,
            durationNanoseconds: now &- exchange.startedAt, upstreamNanoseconds: upstreamTime,
            bytesIn: Int(exchange.requestBytesForwarded), bytesOut: exchange.responseBytesSent)
        // The metadata below is built only when the access log is on (swift-log autoclosures).
        // Never a header value: Authorization and Cookie must not reach a log line.
        context.accessLogger.info("request", metadata: [
            "client": "\(clientAddress)",
            "method": "\(exchange.head.methodString)",
            "path": "\(AccessLogFormat.path(exchange.head.targetString, includeQuery: context.accessLogQuery))",
            "status": "\(status)",
            "bytes_in": "\(exchange.requestBytesForwarded)",
            "bytes_out": "\(exchange.responseBytesSent)",
            "duration_ms": "\(AccessLogFormat.milliseconds(now &- exchange.startedAt))",
            "upstream_ms": "\(upstreamTime.map(AccessLogFormat.milliseconds) ?? "-")",
            "upstream_reused": "\(exchange.upstreamReused)",
        ])
    }

    /// Shutdown: closes the connection if it sits between requests (keep-alive idle), so a drain
    /// does not wait for idle clients. A request in flight is left to finish.
    func closeIfIdle() {
        loop.assertOnLoop()
        if state == .waitingForRequest, !headStarted { close(graceful: true) }
    }
}
