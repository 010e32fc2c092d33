import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("ChunkedEncoder")
struct ChunkedEncoderTests {
    @Test("chunk header is the lowercase hex size and CRLF", arguments: [
        (1, "1\r\n"), (15, "f\r\n"), (16, "10\r\n"), (255, "ff\r\n"), (4096, "1000\r\n"), (Int.max, "7fffffffffffffff\r\n"),
    ])
    func header(_ size: Int, _ expected: String) {
        var out: [UInt8] = []
        ChunkedEncoder.appendChunkHeader(size: size, to: &out)
        #expect(out == bytes(expected))
    }

    @Test("chunk end and last chunk are CRLF and 0 CRLF CRLF")
    func endings() {
        var out: [UInt8] = []
        ChunkedEncoder.appendChunkEnd(to: &out)
        ChunkedEncoder.appendLastChunk(to: &out)
        #expect(out == bytes("\r\n0\r\n\r\n"))
    }

    @Test("encoded stream decodes back to the same payload", arguments: [[1], [3, 1, 4, 1, 5], [4096, 17], [255, 256]])
    func roundTrip(_ sizes: [Int]) {
        var out: [UInt8] = []
        var payload: [UInt8] = []
        for (n, size) in sizes.enumerated() {
            let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n) }
            payload += data
            ChunkedEncoder.appendChunkHeader(size: size, to: &out)
            out += data
            ChunkedEncoder.appendChunkEnd(to: &out)
        }
        ChunkedEncoder.appendLastChunk(to: &out)
        let outcome = decodePieces(out, framing: .chunked, limits: .default, cuts: [1, 7, 100, 1000])
        #expect(outcome == BodyOutcome(payload: payload, consumed: out.count, complete: true))
    }
}
}
