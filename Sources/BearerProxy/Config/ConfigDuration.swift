/// Durations as written in `proxy.conf`: a non-negative decimal number and a unit,
/// `ms`, `s`, `m` or `h` (`500ms`, `30s`, `1.5s`, `5m`, `1h`).
///
/// A bare number is rejected on purpose: `timeout: 5` could mean seconds or milliseconds.
enum ConfigDuration {
    /// Units with their length in nanoseconds. Every one is a multiple of 10^6 ns, so up to
    /// six decimal places convert exactly.
    private static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ]
    private static let maxFractionDigits = 6
    private static let example = "write e.g. \"30s\" or \"500ms\"; units: ms, s, m, h"

    static func parse(_ text: String) throws(InvalidValue) -> Duration {
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = text[number.endIndex...]
        guard !number.isEmpty else {
            throw InvalidValue("\"\(text)\" is not a duration; \(example)")
        }
        guard !unit.isEmpty else {
            throw InvalidValue("\"\(text)\" has no unit; \(example)")
        }
        guard let scale = units.first(where: { $0.suffix == unit })?.nanoseconds else {
            throw InvalidValue("\"\(text)\" has an unknown unit \"\(unit)\"; \(example)")
        }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty, parts.count == 1 || !parts[1].isEmpty else {
            throw InvalidValue("\"\(text)\" is not a duration; \(example)")
        }
        guard let whole = Int64(parts[0]) else {
            throw InvalidValue("\"\(text)\" is too large")
        }
        var (total, overflow) = whole.multipliedReportingOverflow(by: scale)
        if parts.count == 2 {
            let fraction = parts[1]
            guard fraction.count <= maxFractionDigits, let digits = Int64(fraction) else {
                throw InvalidValue("\"\(text)\" has more than \(maxFractionDigits) decimal places")
            }
            var divisor: Int64 = 1
            for _ in 0..<fraction.count { divisor *= 10 }
            let fractionNanoseconds = digits * (scale / divisor)
            var carry = false
            (total, carry) = total.addingReportingOverflow(fractionNanoseconds)
            overflow = overflow || carry
        }
        guard !overflow else {
            throw InvalidValue("\"\(text)\" is too large")
        }
        return .nanoseconds(total)
    }

    /// The shortest exact spelling in the file's own syntax where one exists, for summaries.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        if nanoseconds == 0 { return "0s" }
        for (suffix, scale) in units.reversed() where nanoseconds % scale == 0 {
            return "\(nanoseconds / scale)\(suffix)"
        }
        // Finer than a millisecond: fractional milliseconds, trailing zeros trimmed.
        let fraction = String(nanoseconds % 1_000_000)
        let padded = String(repeating: "0", count: 6 - fraction.count) + fraction
        let trimmed = padded.reversed().drop { $0 == "0" }.reversed()
        return "\(nanoseconds / 1_000_000).\(String(trimmed))ms"
    }
}
