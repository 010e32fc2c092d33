import Testing
@testable import BearerProxy

/// IMF-fixdate values are those `DateFormatter` ("EEE, dd MMM yyyy HH:mm:ss 'GMT'", en_US_POSIX,
/// GMT) gave before HTTPDate parsed by hand; the others are computed with Python's calendar.timegm.
@Suite("HTTPDate")
struct HTTPDateTests {
    @Test("parse reads an IMF-fixdate (RFC 9110 §5.6.7) as seconds since 1970")
    func imfFixdate() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Tue, 14 Nov 2023 22:13:20 GMT") == 1_700_000_000)
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.parse("Wed, 31 Dec 1969 23:59:59 GMT") == -1)
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 08:49:37 GMT") == 1_709_196_577)
        #expect(HTTPDate.parse("Fri, 31 Dec 9999 23:59:59 GMT") == 253_402_300_799)
    }

    @Test("parse ignores surrounding spaces and tabs, and does not check the day name")
    func leniency() {
        #expect(HTTPDate.parse("  Sun, 06 Nov 1994 08:49:37 GMT \t") == 784_111_777)
        #expect(HTTPDate.parse("Mon, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
    }

    @Test("parse rejects out-of-range fields, impossible days and other formats", arguments: [
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:37 GMT", "Sun, 06 Nov 1994 23:59:60 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 30 Feb 1994 08:49:37 GMT", "Wed, 29 Feb 2023 08:49:37 GMT",
        "sun, 06 nov 1994 08:49:37 gmt", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37GMT",
        "Sun,06 Nov 1994 08:49:37 GMT", "Sun, +6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT extra",
        "", "soon",
        // The obsolete formats are held to their grammar too.
        "Sun, 06-Nov-94 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT", "Sunday, 06 Nov 94 08:49:37 GMT",
        "Sunday, 31-Nov-94 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun Nov 06 08:49:37 94", "Sun Nov  6 08:49:37 1994 GMT",
        "Sunday Nov  6 08:49:37 1994",
    ])
    func rejects(_ text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    // RFC 9110 §5.6.7: "A recipient that parses a timestamp value in an HTTP header field MUST
    // accept all three HTTP-date formats."
    @Test("parse also reads the obsolete RFC 850 and asctime formats")
    func obsoleteFormats() {
        let now = 1_700_000_000.0  // 2023-11-14
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == 784_111_777)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994", now: now) == 784_111_777)
        #expect(HTTPDate.parse("Tue Nov 14 22:13:20 2023", now: now) == 1_700_000_000)
        #expect(HTTPDate.parse("Tuesday, 14-Nov-23 22:13:20 GMT", now: now) == 1_700_000_000)
    }

    @Test("an RFC 850 two-digit year more than 50 years ahead is read as the same year a century earlier")
    func rfc850Century() {
        let now = 1_700_000_000.0  // in 2023
        #expect(HTTPDate.parse("Tuesday, 01-Jan-74 00:00:00 GMT", now: now) == 126_230_400)  // 2074 is 51 years ahead: 1974
        #expect(HTTPDate.parse("Sunday, 01-Jan-73 00:00:00 GMT", now: now) == 3_250_454_400)  // 2073 is 50 years ahead: 2073
    }

    @Test("retryAfterSeconds takes delay-seconds or an HTTP-date, never below zero (RFC 9110 §10.2.3)")
    func retryAfter() {
        #expect(HTTPDate.retryAfterSeconds(" 17 ") == 17)
        #expect(HTTPDate.retryAfterSeconds("-1") == nil)
        #expect(HTTPDate.retryAfterSeconds("Tue, 14 Nov 2023 22:14:20 GMT", now: 1_700_000_000) == 60)
        #expect(HTTPDate.retryAfterSeconds("Tue, 14 Nov 2023 22:14:20 GMT", now: 1_700_000_059.5) == 1)
        #expect(HTTPDate.retryAfterSeconds("Tue, 14 Nov 2023 22:13:20 GMT", now: 1_700_000_100) == 0)
    }
}
