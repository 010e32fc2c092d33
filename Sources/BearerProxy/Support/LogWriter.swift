import Dispatch
#if canImport(Glibc)
import Glibc
import BearerSync
#endif

/// Where formatted log lines go: appended to a buffer by whoever logs, written out in batches
/// (at most `batchDelay` late) by a queue of its own. An event loop that logs never blocks on write(2) to a slow or full stderr pipe (a log
/// collector that stalls must not stall the proxy). When `maxPending` bytes wait, new
/// lines are dropped and counted, and the count is reported in the next line written.
/// Sendable: the buffer is behind `state`; `output` is only called on `queue`.
public final class LogWriter: Sendable {
    public static let standardError = LogWriter { bytes in LogWriter.writeAll(fd: 2, bytes) }

    /// Bytes that may wait for the output before lines are dropped (a few seconds of a busy access log).
    public static let defaultMaxPending = SizeLimits.pendingLogBytes
    /// How long a line may wait for others to share its write.
    static let batchDelay: DispatchTimeInterval = .milliseconds(20)

    private struct State {
        var pending: [UInt8] = []
        var scheduled = false
        var dropped = 0
    }

    private let state = Locked(State())
    private let queue = DispatchQueue(label: "bearer-proxy.log-writer")
    private let output: @Sendable ([UInt8]) -> Void
    private let maxPending: Int

    /// `output` receives batches of whole lines, in order, on the writer's queue.
    public init(maxPending: Int = LogWriter.defaultMaxPending, output: @escaping @Sendable ([UInt8]) -> Void) {
        self.maxPending = maxPending
        self.output = output
    }

    /// Queues one line (which ends with a newline). Never blocks on I/O.
    public func write(_ line: String) {
        var line = line
        line.withUTF8 { write(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Queues one line given as bytes (ending with a newline).
    func write(bytes line: [UInt8]) {
        line.withUnsafeBytes { write(bytes: $0) }
    }

    private func write(bytes line: UnsafeRawBufferPointer) {
        let schedule: Bool = state.withLock { state in
            guard state.pending.count < maxPending else {
                state.dropped += 1
                return false
            }
            state.pending.append(bytes: line)  // one copy
            defer { state.scheduled = true }
            return !state.scheduled
        }
        // Waiting a moment gathers the lines of many requests into one write(2) and one wake-up of
        // the writer's thread; waking it per line cost more CPU than the rest of the request.
        if schedule { queue.asyncAfter(deadline: .now() + Self.batchDelay) { self.drain() } }
    }

    /// Waits until every line queued so far has been written (before exit, and in tests).
    public func flush() {
        queue.sync { drain() }
    }

    private func drain() {
        while true {
            let (batch, dropped): ([UInt8], Int) = state.withLock { state in
                let taken = (state.pending, state.dropped)
                state.pending = []
                state.dropped = 0
                if taken.0.isEmpty && taken.1 == 0 { state.scheduled = false }
                return taken
            }
            if batch.isEmpty && dropped == 0 { return }
            if dropped > 0 { output(Array("log writer: \(dropped) lines dropped (output too slow)\n".utf8)) }
            if !batch.isEmpty { output(batch) }
        }
    }

    /// write(2) until done; gives up on an error (nowhere left to report it).
    static func writeAll(fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
