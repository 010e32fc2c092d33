@testable import BearerProxy
import Logging
import Testing
import BearerSync

@Suite("DirectLogLine: the access line built directly, byte for byte as the log handlers build it")
struct DirectLogLineTests {
    final class Output: Sendable {
        private let bytes = Locked<[UInt8]>([])
        func append(_ batch: [UInt8]) { bytes.withLock { $0 += batch } }
        var lines: [String] { String(decoding: bytes.withLock { $0 }, as: UTF8.self).split(separator: "\n").map(String.init) }
    }

    static func logger(_ format: LogFormat, output: Output, level: Logger.Level = .info) -> (Logger, LogWriter) {
        let writer = LogWriter { output.append($0) }
        var logger = Logger(label: "bearer-proxy") { label in
            switch format {
            case .json: return JSONLogHandler(label: label, writer: writer)
            case .text: return TextLogHandler(label: label, writer: writer)
            }
        }
        logger.logLevel = level
        logger[metadataKey: "log"] = "access"
        return (logger, writer)
    }

    /// The line without its timestamp, the one part that differs between two lines.
    static func withoutTimestamp(_ line: String, _ format: LogFormat) -> String {
        switch format {
        case .text: return String(line.drop { $0 != " " })
        case .json: return String(line.drop { $0 != "," })
        }
    }

    @Test("same text as the swift-log path, for ordinary and hostile values", arguments: [LogFormat.text, .json])
    func sameAsHandler(format: LogFormat) throws {
        let output = Output()
        let (logger, writer) = Self.logger(format, output: output)
        let keys = ClientSession.accessKeys
        let line = try #require(DirectLogLine(logger: logger, level: .info, message: "request", keys: keys))
        for values in [
            ["127.0.0.1", "GET", "/items/7", "200", "0", "100", "1.234", "0.987", "true", "payments"],
            ["::1", "POST", "/a\"b\\c\u{7}\nforged=1 \u{2028}é", "502", "12", "0", "30000.000", "-", "false", "none"],
            ["10.0.0.1", "GET", "/café/☃\u{7F}", "200", "0", "0", "0.001", "0.000", "true", "naïve route"],
        ] {
            logger.info("request", metadata: Dictionary(uniqueKeysWithValues: zip(keys, values.map { Logger.MetadataValue.string($0) })))
            line.write(values)
        }
        writer.flush()
        let lines = output.lines
        #expect(lines.count == 6)
        #expect(Self.withoutTimestamp(lines[0], format) == Self.withoutTimestamp(lines[1], format))
        #expect(Self.withoutTimestamp(lines[2], format) == Self.withoutTimestamp(lines[3], format))
        #expect(Self.withoutTimestamp(lines[4], format) == Self.withoutTimestamp(lines[5], format))
        #expect(!lines[3].contains("\nforged"))
    }

    @Test("not made when the access log is off (level above info) or the handler is not one of ours")
    func onlyWhenItApplies() {
        let output = Output()
        let (quiet, _) = Self.logger(.text, output: output, level: .critical)
        #expect(DirectLogLine(logger: quiet, level: .info, message: "request", keys: ["a"]) == nil)
        let other = Logger(label: "x") { _ in SwiftLogNoOpLogHandler() }
        #expect(DirectLogLine(logger: other, level: .info, message: "request", keys: ["a"]) == nil)
    }
}
