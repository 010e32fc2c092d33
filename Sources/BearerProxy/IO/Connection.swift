import BearerTLS
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// What a connection reports to its owner. All calls arrive on the connection's loop.
protocol ConnectionDelegate: AnyObject {
    /// The connection is ready for application bytes: TCP connected and, with TLS, the handshake done.
    func connectionDidOpen(_ connection: Connection)
    /// Bytes that arrived. They live in the loop's shared read buffer: consume or copy them now.
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer)
    /// The peer will send nothing more (FIN or TLS close_notify). Writing may still be possible.
    func connectionDidReadEOF(_ connection: Connection)
    /// Output that had to wait for the socket has all been written.
    func connectionDidDrain(_ connection: Connection)
    /// The connection failed and is already closed; no further calls follow.
    func connection(_ connection: Connection, didFail error: ConnectionError)
    /// The deadline set by the owner has passed. The connection stays open; the owner decides.
    func connectionDidTimeOut(_ connection: Connection)
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

/// One non-blocking TCP connection, plain or TLS, driven by two Dispatch sources.
///
/// The connection belongs to one `EventLoop` for its whole life: it is created, used and closed
/// on `loop.queue` only, and its delegate is called only there. Output is queued with `write`
/// and sent by `flush`, so everything produced while handling one event leaves in one system
/// call (and one TLS record). The write source is armed only while output is waiting.
/// @unchecked Sendable: every mutable property is touched only on `loop.queue`.
final class Connection: @unchecked Sendable, Expirable {
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

    private let readSource: any DispatchSourceRead
    /// Made on first need: most connections never fill their socket buffer, and a source that
    /// is never made costs no registration with the kernel.
    private var writeSource: (any DispatchSourceWrite)?
    private var readSourceSuspended = true
    private var writeSourceSuspended = true
    /// Sources made and not yet cancelled; the descriptor closes when the last one is.
    private var liveSources = 1

    private var outbound = ByteQueue()
    private var readPaused = false
    private var readEOF = false
    private var closeWhenFlushed = false
    /// The owner knows the peer sends nothing more (it said so, and all it sent was read).
    private var peerIsDone = false
    /// TLS can need the other direction: a read that must first write, or a write that must first read.
    private var tlsReadWantsWritable = false
    private var tlsWriteWantsReadable = false

    /// Longest the last queued output may take to leave after the owner has closed.
    static let flushTimeout: Duration = .seconds(30)
    /// Longest we keep draining a half-closed connection before closing it for good.
    static let lingerTimeout: Duration = .seconds(2)
    /// Largest plaintext in one TLS record (RFC 8446 §5.1).
    static let fullTLSRecord = 16 * 1024
    /// Reads handled per event before yielding the queue to other connections.
    static let readsPerEvent = 16

    var pendingOutputBytes: Int { outbound.count }
    var isOpen: Bool { phase == .open }
    var isTLSSessionReused: Bool { tls?.sessionReused ?? false }

    private init(fd: Int32, loop: EventLoop, tls: TLSConnection?, phase: Phase) {
        self.fd = fd
        self.loop = loop
        self.tls = tls
        self.phase = phase
        readSource = DispatchSource.makeReadSource(fileDescriptor: fd, queue: loop.queue)
        readSource.setEventHandler { [unowned self] in self.handleReadable() }
        readSource.setCancelHandler { [self] in sourceCancelled() }
    }

    private func makeWriteSource() -> any DispatchSourceWrite {
        let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: loop.queue)
        source.setEventHandler { [unowned self] in self.handleWritable() }
        source.setCancelHandler { [self] in sourceCancelled() }
        liveSources += 1
        writeSource = source
        return source
    }

    /// The descriptor outlives its sources: it is closed when the last one is cancelled.
    private func sourceCancelled() {
        liveSources -= 1
        if liveSources == 0 { Socket.close(fd) }
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
        connection.delegate = delegate
        loop.track(connection)
        let status = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if status != 0 && errno != EINPROGRESS {
            let error = IOError("connect \(address)", errno: errno)
            connection.phase = .closed
            connection.cancelSources()
            loop.untrack(connection)
            throw .io(error)
        }
        // Completion (or failure) of the connect is reported as writability.
        connection.setWriteArmed(true)
        return connection
    }

    /// Starts reading an accepted connection (and its TLS handshake, if any).
    func start() {
        loop.assertOnLoop()
        loop.track(self)
        setReadArmed(true)
        if phase == .handshaking {
            continueHandshake()
        } else {
            delegate?.connectionDidOpen(self)
        }
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

    /// Sends queued output now, as far as the socket takes it; the rest goes when it is writable.
    func flush() {
        guard phase == .open || phase == .lingering else { return }
        while !outbound.isEmpty {
            let sent = outbound.withReadableBytes { bytes in
                Result { () throws(ConnectionError) in try send(bytes) }
            }
            let result: IOResult
            switch sent {
            case .success(let value): result = value
            case .failure(let error):
                fail(error)
                return
            }
            switch result {
            case .done(let n):
                outbound.consume(n)
            case .wouldBlock:
                setWriteArmed(true)
                return
            case .eof:
                return  // the TLS write needs input first; the read handler retries
            }
        }
        if !tlsReadWantsWritable { setWriteArmed(false) }
        if closeWhenFlushed { beginLinger() }
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
            setReadArmed(true)
            return .eof
        case .closed: throw .io(IOError("write", errno: EPIPE))
        case .failed(let error): throw .tls(error)
        }
    }

    // MARK: Reading

    /// Stops delivering input (back-pressure); bytes wait in the kernel and TLS buffers.
    func pauseReading() {
        guard !readPaused else { return }
        readPaused = true
        if !tlsWriteWantsReadable { setReadArmed(false) }
    }

    func resumeReading() {
        guard readPaused else { return }
        readPaused = false
        guard phase == .open, !readEOF else { return }
        setReadArmed(true)
        // TLS may already hold decrypted bytes that no socket event will announce.
        loop.queue.async { [self] in readAvailable() }
    }

    private func handleReadable() {
        switch phase {
        case .connecting, .closed:
            return
        case .handshaking:
            continueHandshake()
        case .open:
            if tlsWriteWantsReadable {
                tlsWriteWantsReadable = false
                flush()
                if readPaused { setReadArmed(false) }
            }
            readAvailable()
        case .lingering:
            drainWhileLingering()
        }
    }

    private func readAvailable() {
        var rounds = 0
        while phase == .open, !readPaused, !readEOF {
            rounds += 1
            if rounds > Self.readsPerEvent {
                loop.queue.async { [self] in readAvailable() }
                return
            }
            let buffer = loop.readBuffer
            let n: Int
            if let tls {
                switch tls.read(into: buffer) {
                case .done(let count): n = count
                case .wantRead: return
                case .wantWrite:
                    tlsReadWantsWritable = true
                    setWriteArmed(true)
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
                    case .wouldBlock: return
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
            // A short plain read emptied the socket, and a TLS connection with nothing buffered
            // that returned less than a full record has most likely handed over all there was:
            // skip the read that would only say EAGAIN. Read sources fire again while the socket
            // has data, so nothing is left behind; large transfers keep reading in this loop.
            if let tls {
                if n < Self.fullTLSRecord, !tls.hasBufferedInput { return }
            } else if n < buffer.count {
                return
            }
        }
    }

    private func receivedEOF() {
        readEOF = true
        setReadArmed(false)  // EOF stays readable forever: stop listening or the source spins
        delegate?.connectionDidReadEOF(self)
    }

    // MARK: Handshake and connect

    private func handleWritable() {
        switch phase {
        case .connecting:
            finishConnect()
        case .handshaking:
            continueHandshake()
        case .open, .lingering:
            if tlsReadWantsWritable {
                tlsReadWantsWritable = false
                readAvailable()
            }
            let hadOutput = !outbound.isEmpty
            flush()
            if hadOutput, outbound.isEmpty, phase == .open { delegate?.connectionDidDrain(self) }
        case .closed:
            return
        }
    }

    private func finishConnect() {
        let error = Socket.pendingError(fd)
        guard error == 0 else {
            fail(.io(IOError("connect", errno: error)))
            return
        }
        setReadArmed(true)
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
        case .wantRead:
            setWriteArmed(false)
        case .wantWrite:
            setWriteArmed(true)
        case .closed:
            fail(.tls(TLSError(kind: .handshakeFailed, reason: "connection closed during TLS handshake")))
        case .failed(let error):
            fail(.tls(error))
        }
    }

    private func becomeOpen() {
        phase = .open
        setWriteArmed(false)
        if readPaused { setReadArmed(false) }
        delegate?.connectionDidOpen(self)
        if phase == .open {
            flush()
            // Bytes may have arrived with the last handshake flight.
            if tls != nil { readAvailable() }
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
        cancelSources()
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
        if let tls, tls.isHandshakeComplete { _ = tls.shutdown() }
        phase = .lingering
        delegate = nil
        shutdown(fd, Int32(SHUT_WR))
        deadline = EventLoop.deadline(after: Self.lingerTimeout)
        readPaused = false
        if readEOF {
            close()
        } else {
            setReadArmed(true)
            drainWhileLingering()
        }
    }

    private func drainWhileLingering() {
        let buffer = loop.readBuffer
        for _ in 0..<Self.readsPerEvent {
            // Plain reads: after our TLS close_notify, any remaining records are dropped unread.
            switch try? Socket.read(fd, into: buffer) {
            case .done:
                peerIsDone = false  // it did send more: linger in full
                continue
            case .wouldBlock:
                // Nothing unread, and the peer said nothing more comes: no reset can hit our response.
                if peerIsDone { close() }
                return
            case .eof, nil:
                close()
                return
            }
        }
    }

    private func fail(_ error: ConnectionError) {
        guard phase != .closed else { return }
        let delegate = self.delegate
        phase = .closed
        self.delegate = nil
        outbound.removeAll()
        loop.untrack(self)
        cancelSources()
        delegate?.connection(self, didFail: error)
    }

    // MARK: Sources

    private func setReadArmed(_ armed: Bool) {
        guard phase != .closed else { return }
        if armed, readSourceSuspended {
            readSourceSuspended = false
            readSource.resume()
        } else if !armed, !readSourceSuspended {
            readSourceSuspended = true
            readSource.suspend()
        }
    }

    private func setWriteArmed(_ armed: Bool) {
        guard phase != .closed else { return }
        if armed, writeSourceSuspended {
            writeSourceSuspended = false
            (writeSource ?? makeWriteSource()).resume()
        } else if !armed, !writeSourceSuspended {
            writeSourceSuspended = true
            writeSource?.suspend()
        }
    }

    /// A suspended source must be resumed before it is released, or libdispatch traps.
    /// Cancelling first means the resume only delivers the cancellation: a source that was
    /// never armed is never registered with epoll just to be removed again.
    private func cancelSources() {
        readSource.cancel()
        if readSourceSuspended {
            readSourceSuspended = false
            readSource.resume()
        }
        if let writeSource {
            writeSource.cancel()
            if writeSourceSuspended {
                writeSourceSuspended = false
                writeSource.resume()
            }
        }
    }
}
