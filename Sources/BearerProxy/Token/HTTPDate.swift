/// The two header values the token fetcher reads as times.
///
/// Parsed by hand rather than with `DateFormatter`: a formatter loads ICU's calendar, locale and
/// time zone data, about 4 MiB of resident pages in a process that otherwise never needs ICU.
enum HTTPDate {
    /// RFC 9110 §5.6.7 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`; seconds since 1970.
    /// Names are case-sensitive as in the grammar; the day name is not checked against the date.
    static func parse(_ text: String) -> Double? {
        parse(trimmed(text))
    }

    private static func parse(_ text: Substring) -> Double? {
        let bytes = Array(text.utf8)
        // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 bytes.
        guard bytes.count == 29,
              dayNames.contains(where: { bytes[0..<3].elementsEqual($0.utf8) }),
              bytes[3] == UInt8(ascii: ","), bytes[4] == UInt8(ascii: " "), bytes[7] == UInt8(ascii: " "),
              bytes[11] == UInt8(ascii: " "), bytes[16] == UInt8(ascii: " "),
              bytes[19] == UInt8(ascii: ":"), bytes[22] == UInt8(ascii: ":"),
              bytes[25...].elementsEqual(" GMT".utf8),
              let day = digits(bytes[5..<7]),
              let monthIndex = monthNames.firstIndex(where: { bytes[8..<11].elementsEqual($0.utf8) }),
              let year = digits(bytes[12..<16]),
              let hour = digits(bytes[17..<19]), let minute = digits(bytes[20..<22]), let second = digits(bytes[23..<25]),
              (1...daysInMonth(monthIndex + 1, year: year)).contains(day),
              hour < 24, minute < 60, second < 60 else {
            return nil
        }
        let days = daysSince1970(year: year, month: monthIndex + 1, day: day)
        return Double(days * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    /// RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP-date.
    static func retryAfterSeconds(_ text: String, now: Double = TokenClock.system.secondsSince1970()) -> Int? {
        let trimmed = trimmed(text)
        if let seconds = Int(trimmed), seconds >= 0 { return seconds }
        guard let date = parse(trimmed) else { return nil }
        return max(0, Int((date - now).rounded(.up)))
    }

    private static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func trimmed(_ text: String) -> Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }), let last = text.lastIndex(where: { !isBlank($0) }) else {
            return ""
        }
        return text[first...last]
    }

    private static func digits(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    private static func daysInMonth(_ month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
