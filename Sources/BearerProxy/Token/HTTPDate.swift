import Foundation

/// The two header values the token fetcher reads as times.
enum HTTPDate {
    /// RFC 9110 §5.6.7 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`; seconds since 1970.
    static func parse(_ text: String) -> Double? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: text.trimmingCharacters(in: .whitespaces))?.timeIntervalSince1970
    }

    /// RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP-date.
    static func retryAfterSeconds(_ text: String, now: Double = Date().timeIntervalSince1970) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return seconds }
        guard let date = parse(trimmed) else { return nil }
        return max(0, Int((date - now).rounded(.up)))
    }
}
