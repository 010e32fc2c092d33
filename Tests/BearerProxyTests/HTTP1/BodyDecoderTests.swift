import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("BodyDecoder")
struct BodyDecoderTests {
    @Test("no body is complete at once and consumes nothing", arguments: [BodyFraming.none, .contentLength(0)])
    func noBody(_ framing: BodyFraming) throws {
        var decoder = BodyDecoder(framing: framing)
        #expect(decoder.isComplete)
        let used = try bytes("GET").withUnsafeBytes { try decoder.decode($0) { _ in Issue.record("no payload expected") } }
        #expect(used == 0)
        try decoder.finishAtEOF()
    }

    @Test("Content-Length body stops exactly at its length, leaving pipelined bytes unconsumed")
    func contentLengthStops() {
        let outcome = decodeEverywhere(bytes("helloGET / HTTP/1.1\r\n"), framing: .contentLength(5))
        #expect(outcome == BodyOutcome(payload: bytes("hello"), consumed: 5, complete: true))
    }

    @Test("Content-Length body waits for more when input is short")
    func contentLengthShort() {
        let outcome = decodeEverywhere(bytes("hel"), framing: .contentLength(5))
        #expect(outcome == BodyOutcome(payload: bytes("hel"), consumed: 3, complete: false))
    }

    @Test("EOF before the end of a Content-Length or chunked body is truncation")
    func truncation() throws {
        for (framing, start) in [(BodyFraming.contentLength(5), "abc"), (.chunked, "3\r\nab")] {
            var decoder = BodyDecoder(framing: framing)
            _ = try bytes(start).withUnsafeBytes { try decoder.decode($0) { _ in } }
            #expect(!decoder.isComplete)
            #expect(throws: HTTP1Error.truncatedBody) { try decoder.finishAtEOF() }
            #expect(throws: HTTP1Error.truncatedBody) { try bytes("c").withUnsafeBytes { try decoder.decode($0) { _ in } } }
        }
    }

    @Test("until-close body takes everything and completes only at EOF")
    func untilClose() throws {
        let outcome = decodeEverywhere(bytes("all of it"), framing: .untilClose)
        #expect(outcome == BodyOutcome(payload: bytes("all of it"), consumed: 9, complete: false))
        var decoder = BodyDecoder(framing: .untilClose)
        try decoder.finishAtEOF()
        #expect(decoder.isComplete)
    }

    @Test("after an error the decoder keeps failing with the same error")
    func stickyError() {
        var decoder = BodyDecoder(framing: .chunked)
        #expect(throws: HTTP1Error.invalidChunkSize) { try bytes("x").withUnsafeBytes { try decoder.decode($0) { _ in } } }
        #expect(throws: HTTP1Error.invalidChunkSize) { try bytes("5\r\n").withUnsafeBytes { try decoder.decode($0) { _ in } } }
        #expect(throws: HTTP1Error.invalidChunkSize) { try decoder.finishAtEOF() }
    }

    @Test("Content-Length payload is handed out as a span of the input, not a copy")
    func noCopy() throws {
        var decoder = BodyDecoder(framing: .contentLength(4))
        let input = bytes("abcdef")
        try input.withUnsafeBytes { buffer in
            let used = try decoder.decode(buffer) { span in
                #expect(span.baseAddress == buffer.baseAddress)
                #expect(span.count == 4)
            }
            #expect(used == 4)
        }
    }

    @Test("a huge Content-Length is streamed without preallocation")
    func hugeLength() {
        let outcome = decodePieces(bytes("abc"), framing: .contentLength(UInt64(Int64.max)), limits: .default, cuts: [])
        #expect(outcome == BodyOutcome(payload: bytes("abc"), consumed: 3, complete: false))
    }
}
}
