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
        /// After a 101 to a WebSocket handshake: bytes are relayed both ways as they come.
        case tunneling
        case closed
    }

    /// The request in flight and everything known about its exchange with the upstream.
    /// A class, so that the phases update it in place instead of copying its buffers.
    final class Exchange {
        /// The route chosen for the request: its upstream, token profile and rules.
        let route: RouteContext
        var head: RequestHead
        var targetForm: ForwardingRules.TargetForm
        var requestFraming: BodyFraming
        var requestBody: BodyDecoder
        var clientKeepAlive: Bool
        /// The client itself ends the connection after this request (`Connection: close`, or
        /// HTTP/1.0 without keep-alive), as opposed to the proxy deciding to close it.
        let clientAskedToClose: Bool
        var startedAt: UInt64
        var upstream: (any Transport)?
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
        /// The upstream sent bytes past the end of its response: that connection is not reused.
        var upstreamOverran = false
        /// 1xx answers relayed so far (at most `maxInterimResponses`).
        var interimResponses = 0
        /// The token this attempt carries, to drop it if the upstream rejects it.
        var token: AccessToken?
        var retriedAfterUnauthorized = false
        /// The request body's payload as it streams up, kept so that a 401 rejecting the token can
        /// be answered by sending the request again with a new one; nil once the body is larger
        /// than `upstream.replay_body_limit` (the 401 is then relayed).
        var replayBody: [UInt8]? = []
        /// This attempt is the replay: the body is sent from `replayBody`, not read from the client.
        var replaying = false
        var requestBytesForwarded: UInt64 = 0
        var responseHeadSent = false
        /// A WebSocket handshake (RFC 6455 §4.1): a 101 turns the connection into a tunnel.
        var webSocket = false

        var requestComplete: Bool { requestBody.isComplete }

        init(route: RouteContext, head: RequestHead, targetForm: ForwardingRules.TargetForm, requestFraming: BodyFraming,
             requestBody: BodyDecoder, clientKeepAlive: Bool, startedAt: UInt64) {
            self.route = route
            self.head = head
            self.targetForm = targetForm
            self.requestFraming = requestFraming
            self.requestBody = requestBody
            self.clientKeepAlive = clientKeepAlive
            self.clientAskedToClose = !clientKeepAlive
            self.startedAt = startedAt
        }
    }

    let client: any Transport
    /// The configuration generation this session's current (or next) request runs on.
    private(set) var context: LoopContext
    let clientAddress: String
    var state: State = .waitingForRequest
    var exchange: Exchange?
    /// Client bytes read but not yet used: a partial head, body bytes that arrived before the
    /// upstream was ready, or pipelined requests waiting their turn.
    var input: [UInt8] = []
    var clientSentEOF = false
    /// Set while `process` runs, so that a completion called synchronously from inside it does
    /// not start a second, nested pass over the same input.
    var processing = false

    static let highWaterMark = SizeLimits.highWaterMark
    static let maxBufferedInput = SizeLimits.pipelinedInput

    var loop: EventLoop { context.loop }

    init(client: any Transport, context: LoopContext, clientAddress: String) {
        self.client = client
        self.context = context
        self.clientAddress = clientAddress
    }

    func start() {
        // Counted before the connection starts: a start that fails closes the session at once,
        // and that close must find it registered.
        context.connections.opened()
        context.sessionOpened(self)
        client.delegate = self
        client.start()
        if state != .closed { client.deadline = EventLoop.deadline(after: context.settings.idleTimeout) }
    }

    // MARK: Client input

    func clientDidRead(_ bytes: UnsafeRawBufferPointer) {
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

    func processBufferedInput() {
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
    func process(_ bytes: UnsafeRawBufferPointer) -> Int {
        processing = true
        defer { processing = false }
        var offset = 0
        while state != .closed {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch state {
            case .waitingForRequest:
                guard !rest.isEmpty else { return offset }
                if !headStarted { adoptLatestContext() }
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
            case .tunneling:
                guard !rest.isEmpty else { return offset }
                tunnel(rest, toUpstream: true)
                return bytes.count
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

    var headStarted = false
    /// Resumes where the last read left off, so a head arriving byte by byte is scanned once.
    lazy var headParser = RequestHeadParser(limits: context.settings.httpLimits)

    /// Before a new request, moves to the newest configuration of this loop, so a reload reaches
    /// keep-alive connections at their next request: its upstream, token profile, hosts, limits
    /// and timeouts. The request in flight, if any, has finished on the one it started with.
    func adoptLatestContext() {
        let latest = context.latest
        guard latest !== context else { return }
        context = latest
        headParser = RequestHeadParser(limits: latest.settings.httpLimits)
    }

    // MARK: Phases

    func begin(_ head: RequestHead) {
        // A head that began before a reload is routed on the configuration in force now.
        adoptLatestContext()
        let form: ForwardingRules.TargetForm
        let framing: BodyFraming
        let route: RouteContext
        let webSocket: Bool
        do {
            (form, framing, route, webSocket) = try admit(head)
        } catch {
            fail(error, answering: head)
            return
        }
        // RFC 9112 §9.3: HTTP/1.1 persists unless `close`; an HTTP/1.0 client asks with `keep-alive`
        // (Appendix C.2.2), as ab and older Java and PHP stacks do.
        let keepAlive = head.version == .http1_1
            ? !head.hasToken("close", inFieldsNamed: "connection")
            : head.hasToken("keep-alive", inFieldsNamed: "connection") && !head.hasToken("close", inFieldsNamed: "connection")
        let exchange = Exchange(
            route: route, head: head, targetForm: form, requestFraming: framing,
            requestBody: BodyDecoder(framing: framing, limits: context.settings.httpLimits),
            clientKeepAlive: keepAlive, startedAt: EventLoop.now())
        exchange.webSocket = webSocket
        if route.settings.retryUnauthorized == .never {
            exchange.replayBody = nil  // no 401 is ever answered by a replay: nothing to keep
        } else if case .contentLength(let length) = framing, length > UInt64(route.settings.replayBodyLimit) {
            exchange.replayBody = nil  // announced too large to keep: not copied at all
        }
        self.exchange = exchange
        state = .waitingForToken
        client.deadline = 0
        if let ready = route.tokens.tokenIfReady() {
            tokenArrived(ready)
        } else {
            route.tokens.token(on: loop) { [self] result in
                loop.assertOnLoop()
                tokenArrived(result)
            }
        }
    }

    /// What the proxy refuses before asking for a token: methods it does not forward, protocol
    /// switches, foreign hosts, requests no route takes, targets it cannot rewrite safely, and
    /// bodies it cannot frame or will not take. Otherwise the target's form, the body's framing
    /// and the route.
    private func admit(_ head: RequestHead) throws(ProxyError) -> (ForwardingRules.TargetForm, BodyFraming, RouteContext, webSocket: Bool) {
        if head.isCONNECT { throw .methodNotAllowed("CONNECT") }
        // RFC 9110 §9.3.8: a TRACE response echoes the request as the server received it, so
        // forwarding one would hand the bearer token to the local client, and a client MUST NOT
        // put stored credentials in a TRACE request.
        if head.isTRACE { throw .methodNotAllowed("TRACE") }
        // RFC 9110 §7.8: a server may ignore Upgrade. h2c is dropped silently (the request goes on
        // as HTTP/1.1); a WebSocket handshake is forwarded, and its 101 opens a tunnel; any other
        // protocol switch is refused.
        let webSocket = Self.isWebSocketHandshake(head)
        if !webSocket, head.count(named: "upgrade") > 0, !Self.onlyH2CUpgrade(head) { throw .upgradeNotSupported }
        guard let form = ForwardingRules.targetForm(of: head) else { throw .badRequest(.invalidTarget) }
        if ForwardingRules.hasDotSegment(head, form: form) { throw .badRequest(.dotSegmentInPath) }
        let route = try chooseRoute(head, form: form)
        try checkOrigin(head)
        let framing: BodyFraming
        do {
            framing = try head.bodyFraming()
        } catch {
            throw .badRequest(error)
        }
        if let limit = context.settings.maxBodySize, case .contentLength(let length) = framing, length > limit {
            throw .bodyTooLarge(limit)
        }
        // RFC 6455 §4.1: the handshake is a GET; a body would sit between it and the first frame.
        if webSocket, framing != .none, framing != .contentLength(0) { throw .badRequest(.bodyOnUpgrade) }
        return (form, framing, route, webSocket)
    }

    /// Browsers send `Origin` with every cross-site request and every WebSocket handshake, and
    /// do not apply the same-origin rule to WebSockets or to simple requests: without this, any
    /// web page open on this machine could send requests through the proxy with the client's
    /// token (and read the answers of a WebSocket, or of an upstream that allows any origin).
    /// Programs do not send `Origin`; a page served from a local name, an `allowed_hosts` name or
    /// a route's host may (on any port). `Origin: null` (sandboxed frames, files) is foreign.
    private func checkOrigin(_ head: RequestHead) throws(ProxyError) {
        for field in head.fields where head.fieldNameIs(field, "origin") {
            let origin = head.value(field)
            guard let schemeEnd = origin.firstRange(of: Array("://".utf8)),
                  let (name, _) = HostAllowlist.split(origin[schemeEnd.upperBound...]),
                  context.hosts.contains(name: name) || context.table.namesHost(name) else {
                throw .foreignOrigin(String(decoding: origin.prefix(100), as: UTF8.self))
            }
        }
    }

    /// The route of a request, from the authority it names (an absolute-form target's, which
    /// RFC 9112 §3.2.2 puts before Host, else the Host field) and its path. The authority must be
    /// a local name, an `allowed_hosts` entry or a route's host (421 otherwise: see
    /// `HostAllowlist`); a request that no route takes is answered 404 and goes nowhere.
    private func chooseRoute(_ head: RequestHead, form: ForwardingRules.TargetForm) throws(ProxyError) -> RouteContext {
        // HTTP/1.0 requests may omit Host; the parser requires exactly one in HTTP/1.1.
        let authority = form == .absolute ? ForwardingRules.authority(of: head.raw[head.target]) : head.firstValue(named: "host")
        let defaultPort: UInt16 = form == .absolute && ForwardingRules.isHTTPS(head.raw[head.target]) ? 443 : 80
        var name: String?
        var port: UInt16?
        if let authority {
            guard let (hostName, hostPort) = HostAllowlist.split(authority),
                  context.hosts.allows(name: hostName, port: hostPort)
                    || context.table.takesHost(hostName, port: hostPort, defaultPort: defaultPort) else {
                throw .misdirected(String(decoding: authority.prefix(100), as: UTF8.self))
            }
            (name, port) = (hostName, hostPort)
        }
        let path = ForwardingRules.routingPath(of: head, form: form)
        guard let index = context.table.route(name: name, port: port, defaultPort: defaultPort, path: path) else {
            throw .noRoute(host: String(decoding: (authority ?? []).prefix(100), as: UTF8.self),
                           path: String(decoding: path.prefix(200), as: UTF8.self))
        }
        return context.routes[index]
    }

    func tokenArrived(_ result: Result<AccessToken, TokenError>) {
        guard state == .waitingForToken else { return }
        switch result {
        case .failure(let error):
            fail(.tokenUnavailable(error))
        case .success(let token):
            state = .connectingUpstream
            acquireUpstream(token: token, fresh: false)
        }
    }

    /// The one way to an upstream connection: an idle pooled one at once, or a new one (`fresh`:
    /// never a pooled one, after a pooled one turned out stale). Then `startExchange`.
    func acquireUpstream(token: AccessToken, fresh: Bool) {
        guard let route = exchange?.route else { return }
        if !fresh, let connection = route.pool.takeIdle() {
            startExchange(on: connection, reused: true, token: token)
            return
        }
        route.pool.acquire(fresh: fresh) { [self] result in
            guard state == .connectingUpstream, exchange != nil else {
                // The request ended while connecting: the connection is new and unused, so keep it.
                if case .success(let (connection, _)) = result { route.pool.release(connection) }
                return
            }
            switch result {
            case .failure(let error):
                context.logger.warning("upstream connection failed", metadata: ["route": "\(route.label)", "reason": "\(error)"])
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

    func startExchange(on upstream: any Transport, reused: Bool, token: AccessToken) {
        guard let exchange else { return }
        upstream.delegate = self
        let head = exchange.upstreamHead.isEmpty
            ? exchange.route.rules.upstreamHead(for: exchange.head, form: exchange.targetForm, framing: exchange.requestFraming,
                                                token: token, clientAddress: clientAddress, webSocket: exchange.webSocket)
            : exchange.upstreamHead
        exchange.upstream = upstream
        exchange.upstreamReused = reused
        exchange.token = token
        exchange.upstreamStartedAt = EventLoop.now()
        if Self.isReplayable(exchange.requestFraming) { exchange.upstreamHead = head }  // kept for a replay
        state = .exchanging
        upstream.write(head)
        if exchange.replaying { writeKeptBody(to: upstream, exchange) }
        upstream.deadline = EventLoop.deadline(after: exchange.route.settings.responseTimeout)
        processBufferedInput()
        if state == .exchanging { upstream.flush() }
        updateReading()
    }

    /// The replay after a 401: the body read the first time, framed as the upstream head announced.
    private func writeKeptBody(to upstream: any Transport, _ exchange: Exchange) {
        let body = exchange.replayBody ?? []
        if exchange.requestFraming == .chunked {
            if !body.isEmpty { body.withUnsafeBytes { upstream.writeChunk($0) } }
            upstream.writeLastChunk()
        } else if !body.isEmpty {
            upstream.write(body)
        }
    }

    /// Sends request body bytes upstream, re-framed as the upstream head announced.
    func forwardRequestBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let exchange, let upstream = exchange.upstream else { return 0 }
        let chunked = exchange.requestFraming == .chunked
        let used: Int
        var forwarded = 0
        let replayLimit = exchange.route.settings.replayBodyLimit
        do {
            used = try exchange.requestBody.decode(bytes) { payload in
                forwarded += payload.count
                if exchange.replayBody != nil {
                    if exchange.replayBody!.count + payload.count <= replayLimit {
                        exchange.replayBody!.append(contentsOf: payload)
                    } else {
                        exchange.replayBody = nil
                    }
                }
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
            // upstream.response_timeout runs from the last request byte (see armUploadDeadlines).
            if exchange.response == nil { upstream.deadline = EventLoop.deadline(after: exchange.route.settings.responseTimeout) }
        } else {
            client.deadline = EventLoop.deadline(after: context.settings.bodyTimeout)
        }
        upstream.flush()
        return used
    }
}
