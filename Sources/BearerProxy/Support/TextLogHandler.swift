import Logging

/// One human-readable line per event: `<ts> <level> <label>: <msg> key=value ...`, keys sorted.
/// Like swift-log's StreamLogHandler, but written through a `LogWriter` so logging never blocks
/// an event loop (`log.format: text`).
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let writer: LogWriter

    public init(label: String, writer: LogWriter = .standardError) {
        self.label = label
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = self.metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var line = "\(LogTimestamp.now()) \(event.level) \(label): \(event.message)"
        for key in fields.keys.sorted() {
            line += " \(key)=\(fields[key]!)"
        }
        line += "\n"
        writer.write(line)
    }
}
