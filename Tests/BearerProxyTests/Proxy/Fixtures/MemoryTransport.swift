@testable import BearerProxy

/// A transport whose peer is the test: `receive` hands the owner bytes as if they had arrived,
/// `take` returns what the owner wrote and flushed. Input sent while the owner has paused reading
/// waits, as it would in a socket buffer, and arrives when reading resumes.
/// @unchecked Sendable: used only on the harness loop's queue.
final class MemoryTransport: Transport, @unchecked Sendable {
    enum State: Equatable {
        case open
        /// The owner called `closeAfterFlush`; its output has been delivered.
        case closedAfterFlush(peerIsDone: Bool)
        /// The owner called `close`: queued output was dropped.
        case closed
    }

    let name: String
    var delegate: (any ConnectionDelegate)?
    var deadline: UInt64 = 0
    private(set) var state = State.open
    private(set) var readingPaused = false
    /// While false, flushed bytes stay queued (a peer that does not read); `acceptOutput` lets them go.
    var peerReads = true
    private var queued: [UInt8] = []
    private var delivered: [UInt8] = []
    private var waitingInput: [[UInt8]] = []
    private var waitingEOF = false

    init(name: String) {
        self.name = name
    }

    var isOpen: Bool { state == .open }
    var pendingOutputBytes: Int { queued.count }

    func start() {}

    func write(_ bytes: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        queued.append(contentsOf: bytes)
    }

    func write(_ bytes: [UInt8]) {
        guard state == .open else { return }
        queued.append(contentsOf: bytes)
    }

    func flush() {
        guard peerReads else { return }
        delivered.append(contentsOf: queued)
        queued.removeAll()
    }

    func pauseReading() { readingPaused = true }

    func resumeReading() {
        guard readingPaused else { return }
        readingPaused = false
        while !readingPaused, state == .open, !waitingInput.isEmpty {
            let bytes = waitingInput.removeFirst()
            bytes.withUnsafeBytes { delegate?.connection(self, didRead: $0) }
        }
        if !readingPaused, waitingInput.isEmpty, waitingEOF {
            waitingEOF = false
            delegate?.connectionDidReadEOF(self)
        }
    }

    func closeAfterFlush(peerIsDone: Bool) {
        guard state == .open else { return }
        delivered.append(contentsOf: queued)
        queued.removeAll()
        state = .closedAfterFlush(peerIsDone: peerIsDone)
        delegate = nil
        finished()
    }

    func close() {
        guard state == .open else { return }
        queued.removeAll()
        state = .closed
        delegate = nil
        finished()
    }

    var onClose: (() -> Void)?

    private func finished() {
        let hook = onClose
        onClose = nil
        hook?()
    }

    // MARK: The test's side

    /// Bytes from the peer, in one read (or later, if reading is paused).
    func receive(_ bytes: [UInt8]) {
        guard state == .open, !bytes.isEmpty else { return }
        if readingPaused || !waitingInput.isEmpty {
            waitingInput.append(bytes)
            return
        }
        bytes.withUnsafeBytes { delegate?.connection(self, didRead: $0) }
    }

    func receive(_ text: String) { receive(Array(text.utf8)) }

    /// The peer's FIN, after any input still waiting.
    func receiveEOF() {
        guard state == .open else { return }
        if readingPaused || !waitingInput.isEmpty {
            waitingEOF = true
            return
        }
        delegate?.connectionDidReadEOF(self)
    }

    /// The connection breaks: the transport is closed, then the owner hears why.
    func fail(_ error: ConnectionError) {
        guard state == .open else { return }
        let owner = delegate
        queued.removeAll()
        state = .closed
        delegate = nil
        finished()
        owner?.connection(self, didFail: error)
    }

    /// The deadline the owner set has passed.
    func expire() {
        delegate?.connectionDidTimeOut(self)
    }

    /// The peer takes what was held back (`peerReads` false until now); the owner hears it drained.
    func acceptOutput() {
        peerReads = true
        let had = !queued.isEmpty
        flush()
        if had { delegate?.connectionDidDrain(self) }
    }

    /// Everything delivered to the peer since the last `take`.
    func take() -> [UInt8] {
        defer { delivered.removeAll() }
        return delivered
    }

    func takeText() -> String { String(decoding: take(), as: UTF8.self) }
}
