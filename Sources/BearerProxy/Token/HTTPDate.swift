/// The two header values the token fetcher reads as times.
///
/// Parsed by hand rather than with `DateFormatter`: a formatter loads ICU's calendar, locale and
/// time zone data, about 4 MiB of resident pages in a process that otherwise never needs ICU.
enum HTTPDate {
    /// An HTTP-date as seconds since 1970. RFC 9110 §5.6.7: a recipient must accept all three
    /// formats, the IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` and the obsolete RFC 850
    /// `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`.
    /// Names are case-sensitive as in the grammar; the day name is not checked against the date.
    /// `now` places an RFC 850 date's two-digit year: more than 50 years ahead means a century ago.
    static func parse(_ text: String, now: Double = TokenClock.system.secondsSince1970()) -> Double? {
        parse(trimmed(text), now: now)
    }

    private static func parse(_ text: Substring, now: Double) -> Double? {
        let bytes = Array(text.utf8)
        return imfFixdate(bytes) ?? rfc850Date(bytes, now: now) ?? asctimeDate(bytes)
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`: fixed width, 29 bytes.
    private static func imfFixdate(_ bytes: [UInt8]) -> Double? {
        guard bytes.count == 29,
              shortDayNames.contains(where: { bytes[0..<3].elementsEqual($0.utf8) }),
              bytes[3] == UInt8(ascii: ","), bytes[4] == UInt8(ascii: " "), bytes[7] == UInt8(ascii: " "),
              bytes[11] == UInt8(ascii: " "), bytes[16] == UInt8(ascii: " "),
              bytes[25...].elementsEqual(" GMT".utf8),
              let day = digits(bytes[5..<7]), let month = month(bytes[8..<11]), let year = digits(bytes[12..<16])
        else { return nil }
        return timestamp(year: year, month: month, day: day, time: bytes[17..<25])
    }

    /// `Sunday, 06-Nov-94 08:49:37 GMT`: a full day name, then 24 bytes.
    private static func rfc850Date(_ bytes: [UInt8], now: Double) -> Double? {
        guard let comma = bytes.firstIndex(of: UInt8(ascii: ",")),
              longDayNames.contains(where: { bytes[..<comma].elementsEqual($0.utf8) }),
              bytes.count == comma + 24
        else { return nil }
        let rest = bytes[(comma + 1)...]
        let at = rest.startIndex
        guard bytes[at] == UInt8(ascii: " "), bytes[at + 3] == UInt8(ascii: "-"), bytes[at + 7] == UInt8(ascii: "-"),
              bytes[at + 10] == UInt8(ascii: " "), bytes[(at + 19)...].elementsEqual(" GMT".utf8),
              let day = digits(bytes[(at + 1)..<(at + 3)]), let month = month(bytes[(at + 4)..<(at + 7)]),
              let twoDigitYear = digits(bytes[(at + 8)..<(at + 10)])
        else { return nil }
        let thisYear = civilYear(daysSince1970: Int((now / 86_400).rounded(.down)))
        var year = thisYear - thisYear % 100 + twoDigitYear
        if year > thisYear + 50 { year -= 100 }
        return timestamp(year: year, month: month, day: day, time: bytes[(at + 11)..<(at + 19)])
    }

    /// `Sun Nov  6 08:49:37 1994`: fixed width, 24 bytes; a one-digit day has a space before it.
    private static func asctimeDate(_ bytes: [UInt8]) -> Double? {
        guard bytes.count == 24,
              shortDayNames.contains(where: { bytes[0..<3].elementsEqual($0.utf8) }),
              bytes[3] == UInt8(ascii: " "), bytes[7] == UInt8(ascii: " "), bytes[10] == UInt8(ascii: " "),
              bytes[19] == UInt8(ascii: " "),
              let month = month(bytes[4..<7]), let year = digits(bytes[20..<24])
        else { return nil }
        let day = bytes[8] == UInt8(ascii: " ") ? digits(bytes[9..<10]) : digits(bytes[8..<10])
        guard let day else { return nil }
        return timestamp(year: year, month: month, day: day, time: bytes[11..<19])
    }

    /// Seconds since 1970 for a valid date and an `HH:MM:SS` time, nil for anything out of range.
    private static func timestamp(year: Int, month: Int, day: Int, time: ArraySlice<UInt8>) -> Double? {
        let at = time.startIndex
        guard time.count == 8, time[at + 2] == UInt8(ascii: ":"), time[at + 5] == UInt8(ascii: ":"),
              let hour = digits(time[at..<(at + 2)]), let minute = digits(time[(at + 3)..<(at + 5)]),
              let second = digits(time[(at + 6)..<(at + 8)]),
              (1...daysInMonth(month, year: year)).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        let days = daysSince1970(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    /// RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP-date.
    static func retryAfterSeconds(_ text: String, now: Double = TokenClock.system.secondsSince1970()) -> Int? {
        let trimmed = trimmed(text)
        if let seconds = Int(trimmed), seconds >= 0 { return seconds }
        guard let date = parse(trimmed, now: now) else { return nil }
        return max(0, Int((date - now).rounded(.up)))
    }

    private static let shortDayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let longDayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// 1...12 for a month name.
    private static func month(_ bytes: ArraySlice<UInt8>) -> Int? {
        monthNames.firstIndex(where: { bytes.elementsEqual($0.utf8) }).map { $0 + 1 }
    }

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

    /// The proleptic Gregorian year of a day counted from 1970-01-01 (Hinnant's `civil_from_days`).
    private static func civilYear(daysSince1970 days: Int) -> Int {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153  // 0 = March
        return yearOfEra + era * 400 + (monthIndex >= 10 ? 1 : 0)
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
