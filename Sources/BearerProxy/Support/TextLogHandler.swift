import Logging

/// One human-readable line per event: `<ts> <level> <label>: <msg> key=value ...`, keys sorted.
/// Like swift-log's StreamLogHandler, but written through a `LogWriter` so logging never blocks
/// an event loop (`log.format: text`).
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let writer: LogWriter

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
        var line = "\(LogTimestamp.now()) \(event.level) \(label): \(Self.oneLine("\(event.message)"))"
        for key in fields.keys.sorted() {
            line += " \(key)=\(Self.oneLine("\(fields[key]!)"))"
        }
        line += "\n"
        writer.write(line)
    }

    /// Text from peers (a token endpoint's error_description, an upstream's TLS alert) ends up in
    /// messages and values. A CR or LF in it would start a line that looks like the proxy's own,
    /// so control characters and Unicode line separators are written as escapes (`\n`, `\u{7}`).
    static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: \.isLineBreakingOrControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.isLineBreakingOrControl: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
