import BearerTLS
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// What a connection reports to its owner. All calls arrive on the connection's loop.
protocol ConnectionDelegate: AnyObject {
    /// The connection is ready for application bytes: TCP connected and, with TLS, the handshake done.
    func connectionDidOpen(_ connection: any Transport)
    /// Bytes that arrived. They live in the loop's shared read buffer: consume or copy them now.
    func connection(_ connection: any Transport, didRead bytes: UnsafeRawBufferPointer)
    /// The peer will send nothing more (FIN or TLS close_notify). Writing may still be possible.
    func connectionDidReadEOF(_ connection: any Transport)
    /// Output that had to wait for the socket has all been written.
    func connectionDidDrain(_ connection: any Transport)
    /// The connection failed and is already closed; no further calls follow.
    func connection(_ connection: any Transport, didFail error: ConnectionError)
    /// The deadline set by the owner has passed. The connection stays open; the owner decides.
    func connectionDidTimeOut(_ connection: any Transport)
}

/// Why a connection failed.
enum ConnectionError: Error, Sendable, CustomStringConvertible {
    case io(IOError)
    case tls(TLSError)

    var description: String {
        switch self {
        case .io(let error): return error.description
        case .tls(let error): return error.description
        }
    }
}

/// One non-blocking TCP connection, plain or TLS, registered once, edge-triggered, with its
/// loop's epoll set.
///
/// The connection belongs to one `EventLoop` for its whole life: it is created, used and closed
/// on `loop.queue` only, and its delegate is called only there. Its state is its `phase` and what
/// the socket is known to be ready for (`readable`, `writable`: an edge seen and no EAGAIN since).
/// Reads run until EAGAIN (or a short read, which empties the socket), within a budget per pass;
/// a pass cut short by the budget is finished by `EventLoop.defer`, since no new edge will come
/// for bytes already waiting. Output is queued with `write` and sent by `flush`, so everything
/// produced while handling one event leaves in one system call (and one TLS record); only a
/// short write waits for the next writable edge.
/// @unchecked Sendable: every mutable property is touched only on `loop.queue`.
final class Connection: Transport, Expirable, EventHandler, @unchecked Sendable {
    enum Phase: Equatable {
        case connecting
        case handshaking
        case open
        /// Output is flushed and our side shut down; reading and discarding until the peer closes,
        /// so that unread input does not turn into a TCP reset that destroys our last response.
        case lingering
        case closed
    }

    let loop: EventLoop
    let fd: Int32
    private(set) var phase: Phase
    private let tls: TLSConnection?
    var delegate: (any ConnectionDelegate)?
    var deadline: UInt64 = 0
    var onClose: (() -> Void)?
    /// The token of this descriptor in the loop's epoll set; 0 while not registered.
    private var token: UInt64 = 0

    /// An edge said so and no read has returned EAGAIN since.
    private var readable = false
    /// Writable unless a write returned EAGAIN and no writable edge has come since.
    private var writable = true
    /// The peer's FIN (or a hang-up) was announced: its edge came and will not come again, so
    /// reads go on to the end of the stream even after a short read.
    private var peerClosed = false
    private var outbound = ByteQueue()
    private var readPaused = false
    private var readEOF = false
    private var closeWhenFlushed = false
    /// The owner knows the peer sends nothing more (it said so, and all it sent was read).
    private var peerIsDone = false
    /// TLS can need the other direction: a read that must first write, or a write that must first read.
    private var tlsReadWantsWritable = false
    private var tlsWriteWantsReadable = false
    /// A deferred pass is queued on the loop (see `EventLoop.defer`).
    private var deferredPassQueued = false

    /// Longest the last queued output may take to leave after the owner has closed.
    static let flushTimeout: Duration = .seconds(30)
    /// Longest we keep draining a half-closed connection before closing it for good.
    static let lingerTimeout: Duration = .seconds(2)
    /// This connection's linger (tests that must watch a linger on a slow machine lengthen it).
    var lingerTimeout = Connection.lingerTimeout
    /// Reads of up to `EventLoop.readBufferSize` (64 KiB) handled per pass before the other
    /// connections of the loop get their turn: 4 × 64 KiB = 256 KiB, enough for a burst of
    /// pipelined requests or a large response in flight, small enough that one fast peer cannot
    /// hold the loop (a flooding client once pushed the others' p99 from 2.4 to 34 ms).
    static let readsPerPass = 4

    var pendingOutputBytes: Int { outbound.count }
    var isOpen: Bool { phase == .open }
    var isTLSSessionReused: Bool { tls?.sessionReused ?? false }
    /// The thumbprint of the TLS peer's certificate, if it presented one (see `TLSConnection`).
    var peerCertificateSHA256: [UInt8]? { tls?.peerCertificateSHA256 }

    private init(fd: Int32, loop: EventLoop, tls: TLSConnection?, phase: Phase) {
        self.fd = fd
        self.loop = loop
        self.tls = tls
        self.phase = phase
    }

    /// Wraps an accepted socket. Call on `loop.queue`, then set the delegate and call `start()`.
    static func accepted(fd: Int32, loop: EventLoop, tlsContext: TLSContext? = nil) throws(TLSError) -> Connection {
        loop.assertOnLoop()
        Socket.setNoDelay(fd)
        let tls = try tlsContext.map { context throws(TLSError) in
            try TLSConnection(context: context, fileDescriptor: fd, serverName: nil)
        }
        return Connection(fd: fd, loop: loop, tls: tls, phase: tls == nil ? .open : .handshaking)
    }

    /// Begins a non-blocking connect. The delegate hears `connectionDidOpen` or `didFail`.
    /// With `tlsContext`, `serverName` is sent as SNI and verified against the certificate.
    static func connect(
        to address: SocketAddress, loop: EventLoop,
        tlsContext: TLSContext?, serverName: String?,
        delegate: any ConnectionDelegate
    ) throws(ConnectionError) -> Connection {
        loop.assertOnLoop()
        let fd: Int32
        do { fd = try Socket.makeStream(family: address.family) } catch { throw .io(error) }
        Socket.setNoDelay(fd)
        let tls: TLSConnection?
        do {
            tls = try tlsContext.map { context throws(TLSError) in
                try TLSConnection(context: context, fileDescriptor: fd, serverName: serverName)
            }
        } catch {
            Socket.close(fd)
            throw .tls(error)
        }
        let connection = Connection(fd: fd, loop: loop, tls: tls, phase: .connecting)
        let status = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if status != 0 && errno != EINPROGRESS {
            let error = IOError("connect \(address)", errno: errno)
            connection.phase = .closed
            Socket.close(fd)
            throw .io(error)
        }
        // Registered after connect: an unconnected socket would report a hang-up at once. The
        // connect's completion (or failure) arrives as the first writable edge.
        do {
            connection.token = try loop.register(connection, fd: fd)
        } catch {
            connection.phase = .closed
            Socket.close(fd)
            throw .io(error)
        }
        connection.writable = false
        connection.delegate = delegate
        loop.track(connection)
        return connection
    }

    /// Starts reading an accepted connection (and its TLS handshake, if any).
    func start() {
        loop.assertOnLoop()
        do {
            token = try loop.register(self, fd: fd)
        } catch {
            fail(.io(error))
            return
        }
        loop.track(self)
        if phase == .handshaking {
            continueHandshake()
        } else {
            delegate?.connectionDidOpen(self)
        }
    }

    // MARK: Events

    func handleEvents(_ ready: Readiness) {
        let readable = ready.contains(.readable)
        let writable = ready.contains(.writable)
        if readable { self.readable = true }
        if writable { self.writable = true }
        if ready.contains(.peerClosed) { peerClosed = true }
        switch phase {
        case .connecting:
            if writable { finishConnect() }
        case .handshaking:
            continueHandshake()
        case .open:
            if writable { handleWritable() }
            if readable, phase == .open { handleReadable() }
        case .lingering:
            if readable { drainWhileLingering() }
        case .closed:
            return
        }
    }

    /// Finishes what an edge will not announce again: input left by the read budget, input TLS
    /// already holds, reading resumed after a pause, a TLS operation that waited on the other side.
    func runDeferred() {
        deferredPassQueued = false
        switch phase {
        case .open:
            if writable, tlsReadWantsWritable || !outbound.isEmpty { handleWritable() }
            if phase == .open, readable || (tls?.hasBufferedInput ?? false) { handleReadable() }
        case .lingering:
            drainWhileLingering()
        case .connecting, .handshaking, .closed:
            return
        }
    }

    private func deferPass() {
        guard !deferredPassQueued, phase != .closed else { return }
        deferredPassQueued = true
        loop.defer(self)
    }

    // MARK: Writing

    func write(_ bytes: UnsafeRawBufferPointer) {
        guard phase != .closed, !bytes.isEmpty else { return }
        outbound.append(bytes)
    }

    func write(_ bytes: [UInt8]) {
        guard phase != .closed, !bytes.isEmpty else { return }
        outbound.append(bytes)
    }

    func write(estimate: Int, _ build: (inout ByteWriter) -> Void) {
        guard phase != .closed else { return }
        outbound.append(estimate: estimate, build)
    }

    /// Sends queued output now, as far as the socket takes it; the rest goes at the next writable edge.
    func flush() {
        guard phase == .open || phase == .lingering else { return }
        var failure: ConnectionError?
        while writable, !tlsWriteWantsReadable, failure == nil {
            let offered = outbound.sendFront { bytes in
                do throws(ConnectionError) {
                    switch try send(bytes) {
                    case .done(let n):
                        return n
                    case .wouldBlock:
                        writable = false
                    case .eof:
                        break  // the TLS write needs input first (tlsWriteWantsReadable)
                    }
                } catch {
                    failure = error
                }
                return 0
            }
            if !offered { break }
        }
        if let failure {
            fail(failure)
            return
        }
        if closeWhenFlushed, outbound.isEmpty { beginLinger() }
    }

    /// Maps a plain or TLS write into the three outcomes; `.eof` here means "TLS needs to read first".
    private func send(_ bytes: UnsafeRawBufferPointer) throws(ConnectionError) -> IOResult {
        guard let tls else {
            do { return try Socket.write(fd, bytes) } catch { throw .io(error) }
        }
        switch tls.write(bytes) {
        case .done(let n): return .done(n)
        case .wantWrite: return .wouldBlock
        case .wantRead:
            tlsWriteWantsReadable = true
            // Input the socket already holds brings no new edge.
            if readable { deferPass() }
            return .eof
        case .closed: throw .io(IOError("write", errno: EPIPE))
        case .failed(let error): throw .tls(error)
        }
    }

    private func handleWritable() {
        if tlsReadWantsWritable {
            tlsReadWantsWritable = false
            readAvailable()
        }
        flushReportingDrain()
    }

    /// `flush`, and tell the owner when output that had to wait has all gone.
    private func flushReportingDrain() {
        let hadOutput = !outbound.isEmpty
        flush()
        if hadOutput, outbound.isEmpty, phase == .open { delegate?.connectionDidDrain(self) }
    }

    // MARK: Reading

    /// Stops delivering input (back-pressure); bytes wait in the kernel and TLS buffers.
    func pauseReading() {
        readPaused = true
    }

    func resumeReading() {
        guard readPaused else { return }
        readPaused = false
        // Input that arrived while paused raised its edge then; TLS may hold decrypted bytes too.
        if phase == .open, !readEOF, readable || (tls?.hasBufferedInput ?? false) { deferPass() }
    }

    private func handleReadable() {
        if tlsWriteWantsReadable {
            tlsWriteWantsReadable = false
            flushReportingDrain()
        }
        readAvailable()
    }

    private func readAvailable() {
        var reads = 0
        while phase == .open, !readPaused, !readEOF {
            if reads == Self.readsPerPass {
                deferPass()
                return
            }
            reads += 1
            let buffer = loop.readBuffer
            let n: Int
            if let tls {
                switch tls.read(into: buffer) {
                case .done(let count): n = count
                case .wantRead:
                    readable = false
                    return
                case .wantWrite:
                    // OpenSSL's socket write just said EAGAIN: wait for the writable edge.
                    tlsReadWantsWritable = true
                    writable = false
                    return
                case .closed:
                    receivedEOF()
                    return
                case .failed(let error):
                    fail(.tls(error))
                    return
                }
            } else {
                do {
                    switch try Socket.read(fd, into: buffer) {
                    case .done(let count): n = count
                    case .wouldBlock:
                        readable = false
                        return
                    case .eof:
                        receivedEOF()
                        return
                    }
                } catch {
                    fail(.io(error))
                    return
                }
            }
            delegate?.connection(self, didRead: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            // A short read emptied the socket: bytes arriving later raise a new edge, so the read
            // that would only say EAGAIN is skipped. For TLS, OpenSSL's last socket read must have
            // been short and nothing may be left in its buffers (`isDrained`). Not after the peer's
            // FIN was announced: its edge has come, and the end of stream must still be read.
            if !peerClosed, tls?.isDrained ?? (n < buffer.count) {
                readable = false
                return
            }
        }
    }

    private func receivedEOF() {
        readEOF = true
        delegate?.connectionDidReadEOF(self)
    }

    // MARK: Handshake and connect

    private func finishConnect() {
        let error = Socket.pendingError(fd)
        guard error == 0 else {
            fail(.io(IOError("connect", errno: error)))
            return
        }
        if tls != nil {
            phase = .handshaking
            continueHandshake()
        } else {
            becomeOpen()
        }
    }

    private func continueHandshake() {
        guard let tls else { return }
        switch tls.handshake() {
        case .done:
            becomeOpen()
        case .wantRead, .wantWrite:
            return  // the next edge continues it
        case .closed:
            fail(.tls(TLSError(kind: .handshakeFailed, reason: "connection closed during TLS handshake")))
        case .failed(let error):
            fail(.tls(error))
        }
    }

    private func becomeOpen() {
        phase = .open
        delegate?.connectionDidOpen(self)
        if phase == .open {
            flush()
            // Bytes may have arrived with the edge that completed the connect, or with the last
            // handshake flight (then OpenSSL may hold them already): no new edge announces them.
            if phase == .open, readable || tls != nil { readAvailable() }
        }
    }

    // MARK: Closing

    /// Sends what is queued, then closes gracefully: TLS close_notify, TCP FIN, and a short linger
    /// that reads and drops whatever the peer still sends.
    /// The owner is done with the connection: the delegate hears nothing more, and a peer that
    /// stops reading cannot keep it open longer than `flushTimeout`.
    /// `peerIsDone`: the peer announced that it sends nothing more (`Connection: close` on a request
    /// read in full). Then, if nothing unread waits in the socket either, the connection closes
    /// without lingering: a close with an empty receive queue sends FIN, not a reset.
    func closeAfterFlush(peerIsDone: Bool = false) {
        guard phase == .open || phase == .handshaking || phase == .connecting else { return }
        closeWhenFlushed = true
        self.peerIsDone = peerIsDone
        delegate = nil
        deadline = EventLoop.deadline(after: Self.flushTimeout)
        if phase == .open { flush() } else { close() }
    }

    /// Closes now. Queued output is dropped; the delegate hears nothing more.
    func close() {
        guard phase != .closed else { return }
        if phase == .open, let tls, tls.isHandshakeComplete { _ = tls.shutdown() }
        phase = .closed
        delegate = nil
        outbound.removeAll()
        loop.untrack(self)
        release()
    }

    func expire() {
        if phase == .lingering || closeWhenFlushed {
            close()
        } else {
            delegate?.connectionDidTimeOut(self)
        }
    }

    private func beginLinger() {
        guard phase == .open else { return }
        // The peer said it sends nothing more. If nothing unread waits either, a close now sends
        // FIN, never a reset, so there is nothing to linger for: one read tells (an edge for bytes
        // that came after our last read may not have been handled yet, so `readable` cannot).
        if peerIsDone, !(tls?.hasBufferedInput ?? false) {
            switch try? Socket.read(fd, into: loop.readBuffer) {
            case .wouldBlock?, .eof?, nil:
                close()
                return
            case .done?:
                peerIsDone = false  // it did send more: linger in full
            }
        }
        if let tls, tls.isHandshakeComplete { _ = tls.shutdown() }
        phase = .lingering
        delegate = nil
        shutdown(fd, Int32(SHUT_WR))
        deadline = EventLoop.deadline(after: lingerTimeout)
        readPaused = false
        if readEOF {
            close()
        } else {
            drainWhileLingering()
        }
    }

    private func drainWhileLingering() {
        guard phase == .lingering else { return }
        let buffer = loop.readBuffer
        for _ in 0..<Self.readsPerPass {
            // Plain reads: after our TLS close_notify, any remaining records are dropped unread.
            switch try? Socket.read(fd, into: buffer) {
            case .done:
                peerIsDone = false  // it did send more: linger in full
                continue
            case .wouldBlock:
                readable = false
                // Nothing unread, and the peer said nothing more comes: no reset can hit our response.
                if peerIsDone { close() }
                return
            case .eof, nil:
                close()
                return
            }
        }
        deferPass()
    }

    private func fail(_ error: ConnectionError) {
        guard phase != .closed else { return }
        let delegate = self.delegate
        phase = .closed
        self.delegate = nil
        outbound.removeAll()
        loop.untrack(self)
        release()
        delegate?.connection(self, didFail: error)
    }

    /// Leaves the epoll set, then closes the descriptor.
    private func release() {
        if token != 0 {
            loop.deregister(fd: fd, token: token)
            token = 0
        }
        Socket.close(fd)
        let hook = onClose
        onClose = nil
        hook?()
    }
}
