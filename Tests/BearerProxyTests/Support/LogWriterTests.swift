@testable import BearerProxy
import Glibc
import Testing
import BearerSync

@Suite("LogWriter")
struct LogWriterTests {
    final class Sink: Sendable {
        let batches = Locked<[[UInt8]]>([])
        var text: String { String(decoding: batches.withLock { $0.joined() }, as: UTF8.self) }
    }

    final class Gate: Sendable {
        let open = Locked(false)
        let entered = Locked(false)
    }

    @Test("lines come out whole and in order after flush")
    func order() {
        let sink = Sink()
        let writer = LogWriter { batch in sink.batches.withLock { $0.append(batch) } }
        for index in 0..<1000 { writer.write("line \(index)\n") }
        writer.flush()
        let lines = sink.text.split(separator: "\n")
        #expect(lines.count == 1000)
        #expect(lines.first == "line 0" && lines.last == "line 999")
    }

    @Test("a stalled output drops lines past the limit and reports how many, instead of blocking the caller")
    func dropsWhenStalled() {
        let sink = Sink()
        let gate = Gate()
        let writer = LogWriter(maxPending: 64 * 1024) { batch in
            gate.entered.withLock { $0 = true }
            while !gate.open.withLock({ $0 }) { usleep(1_000) }  // a log collector that stopped reading
            sink.batches.withLock { $0.append(batch) }
        }
        writer.write("first\n")
        while !gate.entered.withLock({ $0 }) { usleep(1_000) }  // the writer is stuck on "first"
        let line = String(repeating: "x", count: 1023) + "\n"
        for _ in 0..<(64 + 100) { writer.write(line) }  // returns at once
        gate.open.withLock { $0 = true }
        writer.flush()
        let lines = sink.text.split(separator: "\n")
        #expect(lines.first == "first")
        #expect(lines.contains { $0.hasPrefix("log writer: ") && $0.hasSuffix(" lines dropped (output too slow)") })
        #expect(lines.count < 64 + 100)
    }
}
