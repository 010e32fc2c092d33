@testable import BearerProxy
import Testing

@Suite("AccessLogFormat")
struct AccessLogFormatTests {
    @Test("the query is left out unless asked for")
    func path() {
        #expect(AccessLogFormat.path("/a/b?token=x", includeQuery: false) == "/a/b")
        #expect(AccessLogFormat.path("/a/b?token=x", includeQuery: true) == "/a/b?token=x")
        #expect(AccessLogFormat.path("?x", includeQuery: false) == "")
        #expect(AccessLogFormat.path("*", includeQuery: false) == "*")
    }

    @Test("milliseconds have three decimals")
    func milliseconds() {
        #expect(AccessLogFormat.milliseconds(12_345_678) == "12.345")
        #expect(AccessLogFormat.milliseconds(5_000) == "0.005")
        #expect(AccessLogFormat.milliseconds(0) == "0.000")
    }
}

@Suite("LogTimestamp")
struct LogTimestampTests {
    @Test("ISO 8601 UTC with milliseconds")
    func shape() {
        let text = LogTimestamp.now()
        #expect(text.count == 24)
        #expect(text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
    }
}
