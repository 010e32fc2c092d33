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
    /// One field of the line, in output order: what precedes its value (separator and key, as
    /// the format writes them), then a value given to `write` or the handler's own, already escaped.
    private struct Part: Sendable {
        var prefix: [UInt8]
        var value: Int?
        var constant: [UInt8]
    }

    private let format: Format
    private let writer: LogWriter
    /// Everything after the timestamp that is fixed: level, label, message.
    private let head: [UInt8]
    private let parts: [Part]
    /// What ends the line.
    private let tail: [UInt8]
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
        let format = format
        switch format {
        case .text:
            head = Array(" \(level) \(label): \(TextLogHandler.oneLine(message))".utf8)
            tail = Array("\n".utf8)
        case .json:
            head = Array("\",\"level\":\"\(level)\",\"logger\":\"\(JSONText.escaped(label))\",\"msg\":\"\(JSONText.escaped(message))\"".utf8)
            tail = Array("}\n".utf8)
        }
        // The handlers print the handler's metadata and the line's together, sorted by key; a key
        // of the line wins over the handler's, as in their merge.
        var all: [String: (value: Int?, constant: String)] = metadata.mapValues { (nil, "\($0)") }
        for (index, key) in keys.enumerated() { all[key] = (index, "") }
        parts = all.keys.sorted().map { key in
            let (value, constant) = all[key]!
            switch format {
            case .text:
                return Part(prefix: Array(" \(key)=".utf8), value: value, constant: Array(TextLogHandler.oneLine(constant).utf8))
            case .json:
                return Part(prefix: Array(",\"\(JSONText.escaped(key))\":\"".utf8), value: value,
                            constant: Array(JSONText.escaped(constant).utf8))
            }
        }
        keyCount = keys.count
    }

    /// Writes one line; `values` in the order of `keys`. Built as bytes: a value that needs no
    /// escaping (the usual case: addresses, methods, paths, numbers) is copied as it is; only one
    /// that does goes through the handler's own escaping, so the bytes are the same.
    func write(_ values: [String]) {
        precondition(values.count == keyCount)
        var estimate = head.count + tail.count + 32
        for part in parts { estimate += part.prefix.count + 2 + (part.value.map { values[$0].utf8.count } ?? part.constant.count) }
        let line = ByteWriter.bytes(capacity: estimate) { out in
            if format == .json { out.append("{\"ts\":\"") }
            LogTimestamp.appendNow(to: &out)
            out.append(head)
            for part in parts {
                out.append(part.prefix)
                if let index = part.value { appendValue(values[index], to: &out) } else { out.append(part.constant) }
                if format == .json { out.append("\"") }
            }
            out.append(tail)
        }
        writer.write(bytes: line)
    }

    private func appendValue(_ value: String, to out: inout ByteWriter) {
        var value = value
        let plain = value.withUTF8 { bytes in
            let plain = switch format {
            // Printable ASCII: `TextLogHandler.oneLine` would return it unchanged.
            case .text: bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
            // No quote, backslash or control character: nor would `JSONText.escaped`.
            case .json: bytes.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
            }
            if plain { out.append(bytes: UnsafeRawBufferPointer(bytes)) }
            return plain
        }
        if plain { return }
        var escaped = format == .text ? TextLogHandler.oneLine(value) : JSONText.escaped(value)
        escaped.withUTF8 { out.append(bytes: UnsafeRawBufferPointer($0)) }
    }
}
