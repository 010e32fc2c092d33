import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One client connection and the requests on it, answered one at a time and in order.
///
/// The life of a request is a sequence of named phases (`Phase`), each holding the data it needs:
/// read the head → admit and choose the route (`ClientSession+Admission`) → wait for the route's
/// token → get an upstream connection and send (`ClientSession+Upstream`) → relay the response
/// (`ClientSession+Response`) → end, through the one exit that writes the access line
/// (`ClientSession+Ending`). A WebSocket handshake may turn the exchange into a tunnel
/// (`ClientSession+Tunnel`); a rejected token or a stale pooled connection starts a new attempt
/// (`ClientSession+Recovery`).
///
/// The client and the upstream connections are `Transport`s: sockets in the proxy, memory in tests.
/// Both belong to the session's loop; every method runs on `loop.queue`.
/// @unchecked Sendable: every mutable property is touched only on `context.loop.queue`.
final class ClientSession: ConnectionDelegate, @unchecked Sendable {
    enum Phase {
        /// Between requests, or within a head: `started` once its first byte has come
        /// (`timeouts.header_read` then runs).
        case readingHead(started: Bool)
        /// Admitted and routed; the route's token profile is fetching a token. Body bytes wait in `input`.
        case waitingForToken(Exchange)
        /// With the token, waiting for the route's pool to open an upstream connection.
        case connecting(Exchange, AccessToken)
        /// The head has gone up: the body streams up, the response down.
        case exchanging(Exchange, UpstreamAttempt)
        /// After a 101 to a WebSocket handshake: bytes are relayed both ways as they come.
        case tunneling(Exchange, UpstreamAttempt)
        case closed

        /// The request in flight, in every phase that has one.
        var exchange: Exchange? {
            switch self {
            case .waitingForToken(let exchange), .connecting(let exchange, _),
                 .exchanging(let exchange, _), .tunneling(let exchange, _): return exchange
            case .readingHead, .closed: return nil
            }
        }

        /// The upstream attempt in flight, once the head has gone up.
        var attempt: UpstreamAttempt? {
            switch self {
            case .exchanging(_, let attempt), .tunneling(_, let attempt): return attempt
            default: return nil
            }
        }

        /// The phase's name, for logs and tests.
        var name: String {
            switch self {
            case .readingHead: return "readingHead"
            case .waitingForToken: return "waitingForToken"
            case .connecting: return "connecting"
            case .exchanging: return "exchanging"
            case .tunneling: return "tunneling"
            case .closed: return "closed"
            }
        }

        var isClosed: Bool {
            if case .closed = self { return true }
            return false
        }
    }

    let client: any Transport
    /// The configuration generation this session's current (or next) request runs on.
    private(set) var context: LoopContext
    let clientAddress: String
    var phase: Phase = .readingHead(started: false)
    /// Client bytes read but not yet used: a partial head, body bytes that arrived before the
    /// upstream was ready, or pipelined requests waiting their turn.
    var input: [UInt8] = []
    var clientSentEOF = false
    /// Set while `process` runs, so that a completion called synchronously from inside it does
    /// not start a second, nested pass over the same input.
    var processing = false
    /// Resumes where the last read left off, so a head arriving byte by byte is scanned once.
    /// Kept across requests (its buffers are reused); replaced when the limits change on reload.
    lazy var headParser = RequestHeadParser(limits: context.settings.httpLimits)

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
        context.connections.opened(onLoop: loop.index)
        context.sessionOpened(self)
        client.delegate = self
        client.start()
        if !phase.isClosed { client.deadline = EventLoop.deadline(after: context.settings.idleTimeout) }
    }

    // MARK: Client input

    func clientDidRead(_ bytes: UnsafeRawBufferPointer) {
        if input.isEmpty {
            // The common case: use the bytes where they are and keep only what is left over.
            let used = process(bytes)
            if used < bytes.count, !phase.isClosed {
                input.append(bytes: UnsafeRawBufferPointer(rebasing: bytes[used...]))
            }
        } else {
            input.append(bytes: bytes)
            processBufferedInput()
        }
        closeIfDoneAfterEOF()
        updateReading()
    }

    func processBufferedInput() {
        guard !processing, !input.isEmpty else { return }
        // Take the bytes out first: processing may close the session, which clears `input`.
        let buffered = input
        input = []
        let used = buffered.withUnsafeBytes { process($0) }
        guard !phase.isClosed, used < buffered.count else { return }
        input = Array(buffered[used...]) + input
    }

    /// Uses as much of `bytes` as the current phase can, moving through phases as it goes.
    /// Returns how many bytes were used.
    func process(_ bytes: UnsafeRawBufferPointer) -> Int {
        processing = true
        defer { processing = false }
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch phase {
            case .readingHead(let started):
                guard let (head, consumed) = readHead(rest, started: started) else {
                    return phase.isClosed ? bytes.count : offset
                }
                offset += consumed
                begin(head)
            case .exchanging(let exchange, let attempt) where !exchange.upload.isComplete:
                offset += forwardRequestBody(rest, of: exchange, on: attempt)
                if !exchange.upload.isComplete { return phase.isClosed ? bytes.count : offset }
            case .tunneling(let exchange, let attempt):
                tunnel(rest, toUpstream: true, exchange, attempt)
                return bytes.count
            case .closed:
                return bytes.count
            default:
                // Waiting for a token or a connection, or for the answer to a complete request:
                // the bytes wait their turn.
                return offset
            }
        }
        return offset
    }

    /// The head at the start of `bytes`, or nil when it is not complete yet (or did not parse,
    /// and the request has been refused).
    private func readHead(_ bytes: UnsafeRawBufferPointer, started: Bool) -> (RequestHead, Int)? {
        if !started { adoptLatestContext() }
        let parsed: (head: RequestHead, consumed: Int)?
        do {
            parsed = try headParser.parse(bytes)
        } catch {
            end(.failed(.badRequest(error)))
            return nil
        }
        if parsed == nil, !started {
            // A head has started: it must be complete within the header timeout.
            phase = .readingHead(started: true)
            client.deadline = EventLoop.deadline(after: context.settings.headerTimeout)
        }
        return parsed
    }

    /// Before a new request, moves to the newest configuration of this loop, so a reload reaches
    /// keep-alive connections at their next request: its routes, token profiles, hosts, limits
    /// and timeouts. The request in flight, if any, finishes on the one it started with.
    func adoptLatestContext() {
        let latest = context.latest
        guard latest !== context else { return }
        context = latest
        headParser = RequestHeadParser(limits: latest.settings.httpLimits)
    }

    /// After the client's FIN, only the requests it had already sent are answered: between
    /// requests, with nothing left to read, the session closes.
    func closeIfDoneAfterEOF() {
        guard clientSentEOF, case .readingHead = phase else { return }
        close(graceful: true)
    }
}
