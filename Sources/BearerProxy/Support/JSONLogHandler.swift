#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// One JSON object per line: `ts`, `level`, `logger`, `msg`, then the metadata.
/// For log collectors that parse structured lines (`log.format: json`).
public struct JSONLogHandler: LogHandler {
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
        var line = "{\"ts\":\"\(LogTimestamp.now())\",\"level\":\"\(event.level)\",\"logger\":\"\(JSONText.escaped(label))\",\"msg\":\"\(JSONText.escaped(event.message.description))\""
        for key in fields.keys.sorted() {
            line += ",\"\(JSONText.escaped(key))\":\"\(JSONText.escaped(fields[key]!.description))\""
        }
        line += "}\n"
        writer.write(line)
    }
}

/// ISO 8601 UTC with milliseconds, as log collectors expect.
enum LogTimestamp {
    /// Built digit by digit: `String(format:)` costs tens of microseconds, once per log line.
    static func now() -> String {
        let (seconds, milliseconds) = nowParts()
        return format(seconds: seconds, milliseconds: milliseconds)
    }

    /// The current time, as `now()` writes it, into `out`: no String, no array.
    static func appendNow(to out: inout ByteWriter) {
        let (seconds, milliseconds) = nowParts()
        append(seconds: seconds, milliseconds: milliseconds, to: &out)
    }

    private static func nowParts() -> (Int, Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Int(now.tv_sec), Int(now.tv_nsec) / 1_000_000)
    }

    /// A time given in seconds since 1970, to the second (`2026-12-02T13:00:00Z`).
    static func utc(_ secondsSince1970: Double) -> String {
        guard secondsSince1970.isFinite, abs(secondsSince1970) < 1e12 else { return "(out of range)" }
        return format(seconds: Int(secondsSince1970.rounded(.down)), milliseconds: nil)
    }

    private static func format(seconds: Int, milliseconds: Int?) -> String {
        ByteWriter.string(capacity: 32) { append(seconds: seconds, milliseconds: milliseconds, to: &$0) }
    }

    private static func append(seconds: Int, milliseconds: Int?, to out: inout ByteWriter) {
        var tm = tm()
        var seconds = seconds
        gmtime_r(&seconds, &tm)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(tm.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(tm.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(tm.tm_mday), 2); out.append(UInt8(ascii: "T"))
        digits(Int(tm.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(tm.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(tm.tm_sec), 2)
        if let milliseconds {
            out.append(UInt8(ascii: "."))
            digits(milliseconds, 3)
        }
        out.append(UInt8(ascii: "Z"))
    }
}
