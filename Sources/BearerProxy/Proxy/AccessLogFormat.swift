/// Value formatting for access log lines.
enum AccessLogFormat {
    /// The request target without its query: a query often carries personal data or an API key,
    /// so it is logged only when `log.access_query` asks for it.
    static func path(_ target: String, includeQuery: Bool) -> Substring {
        if includeQuery { return Substring(target) }
        guard let query = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return Substring(target) }
        return target[..<query]
    }

    /// Nanoseconds as milliseconds with three decimals ("12.345").
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        let micros = nanoseconds / 1_000
        // At most 15 bytes below 11.5 days, so the String is stored inline: no allocation.
        return ByteWriter.string(capacity: 24) { out in
            out.append(decimal: micros / 1_000)
            out.append(UInt8(ascii: "."))
            let fraction = micros % 1_000
            out.append(UInt8(ascii: "0") + UInt8(fraction / 100))
            out.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
            out.append(UInt8(ascii: "0") + UInt8(fraction % 10))
        }
    }

}
