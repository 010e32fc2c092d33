/// A byte stream as its owner uses it: what a proxy session and an upstream pool need of a
/// connection, and nothing of how it is carried. `Connection` carries one over a socket (and
/// TLS); tests drive sessions and pools through an in-memory one, so every phase of a request
/// can be checked without a socket.
///
/// Everything is called on the owning loop's queue, and events reach `delegate` there.
protocol Transport: AnyObject {
    /// Hears the stream's events; cleared when the transport closes.
    var delegate: (any ConnectionDelegate)? { get set }
    /// Uptime in nanoseconds (`EventLoop.now()`) at which the delegate's `connectionDidTimeOut`
    /// is called; 0: no deadline.
    var deadline: UInt64 { get set }
    /// Ready for application bytes and not closed.
    var isOpen: Bool { get }
    /// Bytes queued by `write` that the peer has not taken yet.
    var pendingOutputBytes: Int { get }
    /// Runs once, when the stream is gone (closed by either side, or failed): for counting the
    /// connections that are open.
    var onClose: (() -> Void)? { get set }

    /// Starts delivering events to the delegate.
    func start()
    /// Queues bytes; `flush` sends them.
    func write(_ bytes: UnsafeRawBufferPointer)
    func write(_ bytes: [UInt8])
    /// Queues what `build` writes, with room for `estimate` bytes made first (a head, written in
    /// place where the transport can).
    func write(estimate: Int, _ build: (inout ByteWriter) -> Void)
    func flush()
    /// Stops delivering input (back-pressure) until `resumeReading`.
    func pauseReading()
    func resumeReading()
    /// Sends what is queued, then closes; the delegate hears nothing more.
    /// `peerIsDone`: the peer sends nothing more, so there is nothing to linger for.
    func closeAfterFlush(peerIsDone: Bool)
    /// Closes now, dropping queued output; the delegate hears nothing more.
    func close()
}

extension Transport {
    func closeAfterFlush() { closeAfterFlush(peerIsDone: false) }

    func write(estimate: Int, _ build: (inout ByteWriter) -> Void) {
        write(ByteWriter.bytes(capacity: estimate, build))
    }
}
