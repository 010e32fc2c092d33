import Logging
import BearerSync

/// A swift-log handler that keeps every record (message and all metadata) as one line of text,
/// so a test can search everything the proxy would have logged.
struct CapturingLogHandler: LogHandler {
    /// Shared by all copies of the handler; its lines are guarded by its lock (Locked).
    final class Buffer: Sendable {
        private let lines = Locked<[String]>([])
        var text: String { lines.withLock { $0.joined(separator: "\n") } }
        var count: Int { lines.withLock { $0.count } }
        func append(_ line: String) { lines.withLock { $0.append(line) } }
    }

    let buffer: Buffer
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { " error=\($0)" } ?? ""
        buffer.append("\(event.level) [\(event.source)] \(event.message) \(fields)\(error)")
    }

    static func logger(into buffer: Buffer) -> Logger {
        var logger = Logger(label: "itest.capture") { _ in CapturingLogHandler(buffer: buffer) }
        logger.logLevel = .trace
        return logger
    }
}
