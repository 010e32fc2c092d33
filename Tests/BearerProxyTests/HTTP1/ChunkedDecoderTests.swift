import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("ChunkedDecoder")
struct ChunkedDecoderTests {
    @Test("decoder joins chunks and stops after the last chunk, leaving pipelined bytes")
    func simpleChunks() {
        let body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        let outcome = chunked(body + "GET / HTTP/1.1\r\n")
        #expect(outcome == BodyOutcome(payload: bytes("hello world"), consumed: body.utf8.count, complete: true))
    }

    @Test("decoder reads hex sizes in either case and with leading zeros")
    func hexSizes() {
        #expect(chunked("A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n").payload.count == 20)
        #expect(chunked("0005\r\nhello\r\n000\r\n\r\n").text == "hello")
    }

    @Test("decoder drops chunk extensions and trailers and stops after the trailer section")
    func extensionsAndTrailers() {
        let body = "5;a=b;c;d=\"x;y\\\"z\"\r\nhello\r\n1 ; e = f ;g\t;h=\"\"\r\n!\r\n0;last=1\r\nExpires: never\r\nX-Sum: abc\r\n\r\n"
        let outcome = chunked(body + "NEXT")
        #expect(outcome == BodyOutcome(payload: bytes("hello!"), consumed: body.utf8.count, complete: true))
    }

    @Test("decoder handles a chunk spanning many input pieces without copying")
    func payloadIsSubspanOfInput() {
        let input = bytes("a\r\n0123456789\r\n0\r\n\r\n")
        var decoder = BodyDecoder(framing: .chunked)
        input.withUnsafeBytes { buffer in
            let range = UInt(bitPattern: buffer.baseAddress)..<(UInt(bitPattern: buffer.baseAddress) + UInt(buffer.count))
            let used = try? decoder.decode(buffer) { span in
                #expect(range.contains(UInt(bitPattern: span.baseAddress)))
                #expect(span.count == 10)
            }
            #expect(used == input.count)
        }
        #expect(decoder.isComplete)
    }

    @Test("decoder rejects a malformed chunk size (RFC 9112 §7.1: chunk-size = 1*HEXDIG)", arguments: [
        "\r\n", "-5\r\n", "+5\r\n", "0x5\r\n", " 5\r\n", "\t5\r\n", "g\r\n", "5g\r\n", "5,\r\n", "5\u{0}\r\n",
    ])
    func invalidChunkSize(_ text: String) {
        #expect(chunked(text).error == .invalidChunkSize)
    }

    @Test("decoder caps chunk-size digits so the size cannot overflow")
    func sizeDigitCap() {
        #expect(chunked("fffffffffffffffffff\r\n").error == .invalidChunkSize)
        #expect(chunked("00000000000000005\r\n").error == .invalidChunkSize)
        // 16 digits is the default cap and fits a UInt64: the decoder simply waits for data.
        #expect(chunked("ffffffffffffffff\r\nabc") == BodyOutcome(payload: bytes("abc"), consumed: 21, complete: false))
    }

    @Test("decoder requires CRLF after the chunk-size line", arguments: ["5\nhello\r\n", "5\rhello\r\n", "5\r\r\n", "5;a\nhello", "\n"])
    func sizeLineTerminator(_ text: String) {
        #expect(chunked(text).error == .invalidChunkTerminator)
    }

    @Test("decoder rejects missing CRLF after chunk data", arguments: [
        "5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello\rX", "5\r\nhello\n0\r\n\r\n", "5\r\nhello0\r\n\r\n", "5\r\nhello world\r\n",
    ])
    func dataTerminator(_ text: String) {
        #expect(chunked(text).error == .invalidChunkTerminator)
    }

    @Test("decoder rejects malformed chunk extensions (RFC 9112 §7.1.1)", arguments: [
        "5 \r\n", "5;\r\n", "5;=b\r\n", "5;a=\r\n", "5;a b\r\n", "5;a=\"x\r\n", "5;a=b c\r\n", "5;a=\"x\"y\r\n",
        "5;a=b \r\n", "5;a \r\n", "5;a=(\r\n", "5 x\r\n", "5;a=\"\u{1}\"\r\n",
    ])
    func invalidExtension(_ text: String) {
        #expect(chunked(text).error == .invalidChunkExtension)
    }

    @Test("decoder bounds the chunk extension length")
    func extensionLength() {
        var limits = HTTP1Limits()
        limits.maxChunkExtensionLength = 8
        #expect(chunked("1;abcdefg\r\nx\r\n0\r\n\r\n", limits: limits).complete)
        #expect(chunked("1;abcdefgh\r\nx\r\n0\r\n\r\n", limits: limits).error == .chunkExtensionTooLong)
        #expect(chunked("1" + String(repeating: " ", count: 9), limits: limits).error == .chunkExtensionTooLong)
        // The cap applies to each chunk line, not to the body as a whole.
        #expect(chunked("1;abcdefg\r\nx\r\n1;abcdefg\r\ny\r\n0;abcdefg\r\n\r\n", limits: limits).text == "xy")
    }

    @Test("decoder rejects malformed trailer fields", arguments: [
        "0\r\nA: b\r\n c\r\n\r\n", "0\r\nA : b\r\n\r\n", "0\r\nA: \u{0}\r\n\r\n", "0\r\nA: b\n\r\n",
        "0\r\n\n", "0\r\n\rX", "0\r\nNoColon\r\n\r\n", "0\r\n: b\r\n\r\n", "0\r\nA: b\rX",
    ])
    func invalidTrailer(_ text: String) {
        #expect(chunked(text).error == .invalidTrailer)
    }

    @Test("decoder bounds the trailer section")
    func trailerSize() {
        var limits = HTTP1Limits()
        limits.maxTrailerSize = 10
        #expect(chunked("0\r\nA: 123\r\n\r\n", limits: limits).complete)   // 10 bytes after the last-chunk line
        #expect(chunked("0\r\nA: 1234\r\n\r\n", limits: limits).error == .trailerTooLarge)
        #expect(chunked("0\r\n" + String(repeating: "A: b\r\n", count: 10), limits: limits).error == .trailerTooLarge)
    }
}
}
