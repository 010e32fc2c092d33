import Foundation
import Logging

/// One JSON object per line: `ts`, `level`, `logger`, `msg`, then the metadata.
/// For log collectors that parse structured lines (`log.format: json`).
public struct JSONLogHandler: LogHandler {
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
        var line = "{\"ts\":\"\(LogTimestamp.now())\",\"level\":\"\(event.level)\",\"logger\":\"\(ErrorResponse.escapeJSON(label))\",\"msg\":\"\(ErrorResponse.escapeJSON(event.message.description))\""
        for key in fields.keys.sorted() {
            line += ",\"\(ErrorResponse.escapeJSON(key))\":\"\(ErrorResponse.escapeJSON(fields[key]!.description))\""
        }
        line += "}\n"
        writer.write(line)
    }
}

/// ISO 8601 UTC with milliseconds, as log collectors expect.
enum LogTimestamp {
    static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var tm = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1_000_000)
    }
}
