/// Value formatting for access log lines.
enum AccessLogFormat {
    /// The request target without its query: a query often carries personal data or an API key,
    /// so it is logged only when `log.access_query` asks for it.
    static func path(_ target: String, includeQuery: Bool) -> Substring {
        if includeQuery { return Substring(target) }
        return target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }

    /// Nanoseconds as milliseconds with three decimals ("12.345").
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        let micros = nanoseconds / 1_000
        let fraction = String(micros % 1_000)
        return "\(micros / 1_000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
