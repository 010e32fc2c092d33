import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("ConfigDuration")
    struct ConfigDurationTests {
        @Test("parses every unit", arguments: [
            ("500ms", Duration.milliseconds(500)),
            ("30s", .seconds(30)),
            ("5m", .seconds(300)),
            ("1h", .seconds(3600)),
            ("0s", .zero),
            ("1.5s", .milliseconds(1500)),
            ("0.25m", .seconds(15)),
            ("1.5ms", .microseconds(1500)),
            ("2.000001s", .microseconds(2_000_001)),
        ])
        func parsesValid(text: String, expected: Duration) throws {
            #expect(try ConfigDuration.parse(text) == expected)
        }

        @Test("rejects a bare number, a wrong unit and malformed numbers", arguments: [
            "5", "5sec", "5 s", "s", "", "-5s", "1.s", ".5s", "1.2.3s", "5S", "1d", "5us", "1.0000001s",
            "99999999999999999999h", "9999999999h",
        ])
        func rejectsInvalid(text: String) {
            #expect(throws: InvalidValue.self) { try ConfigDuration.parse(text) }
        }

        @Test("bare number error asks for a unit")
        func bareNumberMessage() {
            #expect(throws: InvalidValue("\"5\" has no unit; write e.g. \"30s\" or \"500ms\"; units: ms, s, m, h")) {
                try ConfigDuration.parse("5")
            }
        }

        @Test("formats with the largest exact unit", arguments: [
            (Duration.seconds(3600), "1h"),
            (.seconds(300), "5m"),
            (.seconds(90), "90s"),
            (.milliseconds(1500), "1500ms"),
            (.microseconds(1500), "1.5ms"),
            (.zero, "0s"),
        ])
        func formats(duration: Duration, expected: String) {
            #expect(ConfigDuration.format(duration) == expected)
        }

        @Test("format output parses back to the same duration")
        func formatRoundTrips() throws {
            for text in ["1h", "90s", "1500ms", "1.5ms", "0.25m"] {
                let duration = try ConfigDuration.parse(text)
                #expect(try ConfigDuration.parse(ConfigDuration.format(duration)) == duration)
            }
        }
    }
}
