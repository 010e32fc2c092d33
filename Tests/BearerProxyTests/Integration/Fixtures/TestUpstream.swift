@testable import BearerProxy
import BearerTLS
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
import BearerSync
#endif

/// An in-process TLS upstream for integration tests. It records every request as it arrived
/// (raw head bytes, decoded body) and answers with what the test chose. Unlike
/// `LocalHTTPServer` it has no body limit (uploads of several MiB) and can send raw response
/// bytes (chunked framing, odd heads). Runs on its own one-loop group. A slow answer
/// (`delayAnswers`) is sent later from a timer on that loop, never by sleeping on it: a sleeping
/// loop holds one of libdispatch's few worker threads, and the proxy's own loops and timers can
/// then wait for a thread (on 2 cores, long enough for a 500 ms timeout to fire a second late).
final class TestUpstream: Sendable {
    /// What the upstream sends back for one request.
    enum Answer: Sendable {
        case response(LocalResponse)
        /// Sent exactly as given; the test is responsible for its framing.
        case raw([UInt8])
        /// Sent exactly as given, then the connection is closed without announcing it
        /// (what a server does when it drops an idle keep-alive connection).
        case rawThenClose([UInt8])
        /// Sent exactly as given (a 101), after which every byte received is sent back: a
        /// WebSocket echo server that does not look into its frames.
        case rawThenEcho([UInt8])
    }

    typealias Responder = @Sendable (LocalRequest) -> Answer

    /// What the accept handler and the sessions share; guarded by its own lock (Locked) and Atomic.
    private final class State: Sendable {
        let received = Locked<[LocalRequest]>([])
        let responder: Locked<Responder>
        let delayMilliseconds = Atomic<Int>(0)
        let answersAtHead = Atomic<Bool>(false)
        init(responder: @escaping Responder) { self.responder = Locked(responder) }
    }

    private let listener: Listener
    private let state: State

    var address: SocketAddress { listener.address }
    var port: UInt16 { listener.address.port }

    /// Every request received so far, in arrival order.
    var requests: [LocalRequest] { state.received.withLock { $0 } }

    init(tlsContext: TLSContext, responder: @escaping Responder = TestUpstream.echoTarget) throws {
        let group = EventLoopGroup(count: 1, label: "itest.upstream")
        let state = State(responder: responder)
        self.state = state
        listener = try Listener(binding: SocketAddress(ip: "127.0.0.1", port: 0)!, label: "itest.upstream.accept")
        listener.start { fd, peer in
            let loop = group.next()
            loop.execute {
                guard let connection = try? Connection.accepted(fd: fd, loop: loop, tlsContext: tlsContext) else {
                    Socket.close(fd)
                    return
                }
                TestUpstreamSession(connection: connection, loop: loop, peer: peer.ip,
                                    answersAtHead: { state.answersAtHead.load(ordering: .relaxed) },
                                    delayMilliseconds: { state.delayMilliseconds.load(ordering: .relaxed) },
                                    received: { request in state.received.withLock { $0.append(request) } }) { request in
                    let responder = state.responder.withLock { $0 }
                    return responder(request)
                }.start()
            }
        }
    }

    /// Replaces how the upstream answers from now on.
    func respond(_ responder: @escaping Responder) {
        state.responder.withLock { $0 = responder }
    }

    /// Makes the upstream sleep this long before each answer (its own loop only).
    func delayAnswers(milliseconds: Int) {
        state.delayMilliseconds.store(milliseconds, ordering: .relaxed)
    }

    /// Makes the upstream answer as soon as a request head arrives, before (and without) its body,
    /// as a server does that refuses an upload or starts streaming early. The body is read and dropped.
    func answerAtHead() {
        state.answersAtHead.store(true, ordering: .relaxed)
    }

    func close() {
        listener.close()
    }

    /// The default answer: 200 with the request target as the body, so ordering is visible.
    static let echoTarget: Responder = { request in
        .response(.text(200, "target=\(request.target)"))
    }

    /// A resource server that takes DPoP-bound tokens (RFC 9449 §7): `Authorization: DPoP` and a
    /// proof for this method and URL (`origin` + the path), else 401 with a `DPoP` challenge; a
    /// nonce it wants comes back in `DPoP-Nonce` with `use_dpop_nonce`.
    static func checksDPoP(_ checker: DPoPChecker, origin: String) -> Responder {
        { request in
            let authorization = request.values(of: "authorization")
            guard authorization.count == 1, authorization[0].hasPrefix("DPoP ") else {
                return .response(LocalResponse(status: 401, headerFields: [("WWW-Authenticate", #"DPoP error="invalid_token""#)],
                                               body: Array("authorization: \(authorization)".utf8)))
            }
            let path = String(request.target.prefix { $0 != "?" })
            switch checker.check(request, method: request.method, url: origin + path, token: String(authorization[0].dropFirst(5))) {
            case .accepted:
                return .response(.text(200, "dpop ok"))
            case .needsNonce:
                return .response(LocalResponse(status: 401, headerFields: [
                    ("WWW-Authenticate", #"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#),
                    ("DPoP-Nonce", checker.nonce.withLock { $0 } ?? ""),
                ]))
            case .refused(let why):
                return .response(LocalResponse(status: 401, headerFields: [("WWW-Authenticate", #"DPoP error="invalid_token""#)],
                                               body: Array(why.utf8)))
            }
        }
    }

    /// A resource server that checks certificate binding (RFC 8705 §3.2): a token with
    /// `cnf.x5t#S256` is accepted only on a connection whose client certificate has that
    /// thumbprint, else 401 invalid_token.
    static let checksBinding: Responder = { request in
        let token = request.values(of: "authorization").first.map { String($0.dropFirst("Bearer ".count)) } ?? ""
        let bound = JWTInspection(token)?.claims["cnf"]?.object?["x5t#S256"]?.string
        guard let bound, bound == request.clientCertificateSHA256.map(Base64URL.encode) else {
            return .response(LocalResponse(
                status: 401,
                headerFields: [("Content-Type", "application/json"),
                               ("WWW-Authenticate", #"Bearer error="invalid_token", error_description="certificate binding""#)],
                body: Array(#"{"error":"invalid_token"}"#.utf8)))
        }
        return .response(.text(200, "bound to the presented certificate"))
    }
}

/// One connection of a `TestUpstream`.
/// @unchecked Sendable: every mutable property is touched only on the connection's loop.
private final class TestUpstreamSession: ConnectionDelegate, @unchecked Sendable {
    private let connection: Connection
    private let loop: EventLoop
    private let peer: String
    private let answer: @Sendable (LocalRequest) -> TestUpstream.Answer
    private let answersAtHead: @Sendable () -> Bool
    private let delayMilliseconds: @Sendable () -> Int
    private let received: @Sendable (LocalRequest) -> Void
    private var answeredAtHead = false
    /// An answer is due later (`delayAnswers`): requests behind it wait, in order.
    private var waiting = false
    /// After a `rawThenEcho` answer: bytes are sent back as they come.
    private var echoing = false
    private var input: [UInt8] = []
    private var head: RequestHead?
    private var decoder: BodyDecoder?
    private var body: [UInt8] = []

    init(connection: Connection, loop: EventLoop, peer: String, answersAtHead: @escaping @Sendable () -> Bool,
         delayMilliseconds: @escaping @Sendable () -> Int, received: @escaping @Sendable (LocalRequest) -> Void,
         answer: @escaping @Sendable (LocalRequest) -> TestUpstream.Answer) {
        self.connection = connection
        self.loop = loop
        self.peer = peer
        self.answersAtHead = answersAtHead
        self.delayMilliseconds = delayMilliseconds
        self.received = received
        self.answer = answer
    }

    /// Records the request, then sends the responder's answer now or after the configured delay
    /// (the responder is asked when the answer goes out, as a slow server would decide then).
    private func respond(to request: LocalRequest, close: Bool) {
        received(request)
        let pause = delayMilliseconds()
        guard pause > 0 else {
            send(answer(request), close: close)
            return
        }
        waiting = true
        loop.queue.asyncAfter(deadline: DispatchTime.now() + DispatchTimeInterval.milliseconds(pause)) { [self] in
            waiting = false
            guard connection.isOpen else { return }
            send(answer(request), close: close)
            process()
        }
    }

    func start() {
        connection.delegate = self
        connection.start()
        connection.deadline = EventLoop.deadline(after: .seconds(30))
    }

    func connection(_ connection: any Transport, didRead bytes: UnsafeRawBufferPointer) {
        if echoing {
            connection.write(bytes)
            connection.flush()
            return
        }
        if answeredAtHead { return }
        input.append(contentsOf: bytes)
        process()
    }

    private func process() {
        while connection.isOpen, !echoing, !waiting {
            if head == nil {
                do {
                    let parsed = try input.withBytes { buffer throws(HTTP1Error) in
                        try HeadParser.parseRequestHead(buffer, limits: .upstreamDefault)
                    }
                    guard let parsed else { return }
                    input.removeFirst(parsed.consumed)
                    head = parsed.head
                    decoder = BodyDecoder(framing: try parsed.head.bodyFraming(), limits: .upstreamDefault)
                    body = []
                    if answersAtHead() {
                        answeredAtHead = true
                        respond(to: request(parsed.head, body: []), close: false)
                        return
                    }
                } catch {
                    send(.response(.text(400, "upstream fixture: \(error.detail)")), close: true)
                    return
                }
            }
            guard var decoder, let head else { return }
            do {
                let used = try input.withBytes { buffer throws(HTTP1Error) in
                    try decoder.decode(buffer) { body.append(contentsOf: $0) }
                }
                input.removeFirst(used)
            } catch {
                send(.response(.text(400, "upstream fixture: \(error.detail)")), close: true)
                return
            }
            self.decoder = decoder
            guard decoder.isComplete else { return }
            self.head = nil
            self.decoder = nil
            let close = head.hasToken("close", inFieldsNamed: .connection)
            respond(to: request(head, body: body), close: close)
        }
    }

    /// The request as the responder sees it, with the client certificate the proxy presented.
    private func request(_ head: RequestHead, body: [UInt8]) -> LocalRequest {
        var request = LocalRequest(head: head, body: body, peer: peer)
        request.clientCertificateSHA256 = connection.peerCertificateSHA256
        return request
    }

    private func send(_ answer: TestUpstream.Answer, close: Bool) {
        switch answer {
        case .response(let response): connection.write(response.serialized(close: close))
        case .raw(let bytes): connection.write(bytes)
        case .rawThenClose(let bytes):
            connection.write(bytes)
            connection.closeAfterFlush()
            return
        case .rawThenEcho(let bytes):
            connection.write(bytes)
            echoing = true
            if !input.isEmpty {
                connection.write(input)
                input = []
            }
            connection.flush()
            return
        }
        if close { connection.closeAfterFlush() } else { connection.flush() }
    }

    func connectionDidReadEOF(_ connection: any Transport) { connection.closeAfterFlush() }
    func connectionDidTimeOut(_ connection: any Transport) {
        if echoing { connection.deadline = EventLoop.deadline(after: .seconds(30)) } else { connection.close() }
    }
    func connection(_ connection: any Transport, didFail error: ConnectionError) {}
    func connectionDidOpen(_ connection: any Transport) {}
    func connectionDidDrain(_ connection: any Transport) {}
}
