@testable import BearerProxy
import BearerSync
import Logging
import Testing

@Suite("Text log lines")
struct TextLogHandlerTests {
    final class Sink: Sendable {
        let text = Locked("")
    }

    func logged(_ message: Logger.Message, _ metadata: Logger.Metadata) -> String {
        let sink = Sink()
        let writer = LogWriter { batch in sink.text.withLock { $0 += String(decoding: batch, as: UTF8.self) } }
        let logger = Logger(label: "bearer-proxy") { TextLogHandler(label: $0, writer: writer) }
        logger.warning(message, metadata: metadata)
        writer.flush()
        return sink.text.withLock { $0 }
    }

    // A token endpoint's error_description or an upstream's text reaches messages and values.
    @Test("a peer's CR, LF and other control characters cannot start a line of their own")
    func controlCharactersAreEscaped() {
        let text = logged("token request failed: bad\nFORGED critical", [
            "detail": "x\r\n2026-11-27T00:00:00Z critical bearer-proxy: forged",
            "bell": "\u{7}\u{2028}tab\t\u{85}",
        ])
        #expect(text.split(separator: "\n").count == 1)
        #expect(text.hasSuffix("\n"))
        #expect(text.contains(#"token request failed: bad\nFORGED critical"#))
        #expect(text.contains(#"detail=x\r\n2026-11-27T00:00:00Z critical"#))
        #expect(text.contains(#"bell=\u{7}\u{2028}tab\t\u{85}"#))
    }

    @Test("ordinary text, including non-ASCII, is written as it is")
    func plainTextUnchanged() {
        let text = logged("upstream answered", ["path": "/café/ü?x=1", "status": "200"])
        #expect(text.hasSuffix(" warning bearer-proxy: upstream answered path=/café/ü?x=1 status=200\n"))
    }
}
