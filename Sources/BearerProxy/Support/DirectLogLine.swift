import Logging

/// A log line with a fixed set of keys, formatted exactly as `TextLogHandler` or `JSONLogHandler`
/// formats it, but built straight from the values: no `Logger.Metadata` dictionary, no merging
/// and sorting per line. For the access log, which writes one line per request; everything else
/// logs through swift-log as usual.
///
/// Made only when the logger's handler is one of ours and its level lets the line through;
/// otherwise (a test's capturing handler, a level above) the caller logs through the `Logger`.
struct DirectLogLine: Sendable {
    private enum Format: Sendable { case text, json }
    /// One field of the line, in output order: a value given to `write`, or the handler's own.
    private enum Part: Sendable {
        case value(Int)
        case constant(String)
    }

    private let format: Format
    private let writer: LogWriter
    /// Everything before the timestamp-dependent part is fixed: level, label, message.
    private let head: String
    private let parts: [(key: String, part: Part)]
    private let keyCount: Int

    /// `keys`: the names of the values `write` will get, in that order.
    init?(logger: Logger, level: Logger.Level, message: String, keys: [String]) {
        guard logger.logLevel <= level else { return nil }
        let label: String
        let metadata: Logger.Metadata
        switch logger.handler {
        case let handler as TextLogHandler:
            (format, writer, label, metadata) = (.text, handler.writer, handler.label, handler.metadata)
        case let handler as JSONLogHandler:
            (format, writer, label, metadata) = (.json, handler.writer, handler.label, handler.metadata)
        default:
            return nil
        }
        switch format {
        case .text:
            head = " \(level) \(label): \(TextLogHandler.oneLine(message))"
        case .json:
            head = "\",\"level\":\"\(level)\",\"logger\":\"\(JSONText.escaped(label))\",\"msg\":\"\(JSONText.escaped(message))\""
        }
        // The handlers print the handler's metadata and the line's together, sorted by key; a key
        // of the line wins over the handler's, as in their merge.
        var all: [String: Part] = metadata.mapValues { .constant("\($0)") }
        for (index, key) in keys.enumerated() { all[key] = .value(index) }
        parts = all.keys.sorted().map { ($0, all[$0]!) }
        keyCount = keys.count
    }

    /// Writes one line; `values` in the order of `keys`.
    func write(_ values: [String]) {
        precondition(values.count == keyCount)
        var line = ""
        line.reserveCapacity(256)
        switch format {
        case .text:
            line += LogTimestamp.now()
            line += head
            for (key, part) in parts {
                line += " "
                line += key
                line += "="
                line += TextLogHandler.oneLine(text(part, values))
            }
            line += "\n"
        case .json:
            line += "{\"ts\":\""
            line += LogTimestamp.now()
            line += head
            for (key, part) in parts {
                line += ",\""
                line += JSONText.escaped(key)
                line += "\":\""
                line += JSONText.escaped(text(part, values))
                line += "\""
            }
            line += "}\n"
        }
        writer.write(line)
    }

    private func text(_ part: Part, _ values: [String]) -> String {
        switch part {
        case .value(let index): return values[index]
        case .constant(let text): return text
        }
    }
}
