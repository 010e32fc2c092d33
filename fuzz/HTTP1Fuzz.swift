// libFuzzer entry point for the HTTP/1.1 layer: request heads, response heads and both body
// decoders (Content-Length and chunked), fed the same bytes. Built by fuzz/run.sh together with
// the sources in Sources/BearerProxy/HTTP1, which depend on nothing else.
//
// Checked properties, beyond "no crash, no sanitizer report":
// - a parsed head never claims more bytes than it was given;
// - parsing the same input split in two gives the same result as parsing it whole;
// - a body decoder never consumes more than its input and never emits more payload than it consumed.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let limits = HTTP1Limits.default

    let whole = Result { () throws(HTTP1Error) in try HeadParser.parseRequestHead(input, limits: limits) }
    if case .success(let parsed?) = whole {
        precondition(parsed.consumed <= size, "request head consumed more than its input")
        _ = try? parsed.head.bodyFraming()
        // The same bytes through a resuming parser, in two pieces.
        var resuming = RequestHeadParser(limits: limits)
        let cut = size / 2
        let first = Result { () throws(HTTP1Error) in try resuming.parse(UnsafeRawBufferPointer(rebasing: input[..<cut])) }
        if case .success(nil) = first {
            let second = Result { () throws(HTTP1Error) in try resuming.parse(input) }
            if case .success(let again?) = second {
                precondition(again.consumed == parsed.consumed && again.head == parsed.head, "split parse differs from whole parse")
            } else {
                preconditionFailure("split parse failed where the whole parse succeeded")
            }
        }
    }

    if let response = try? HeadParser.parseResponseHead(input, limits: limits) {
        precondition(response.consumed <= size)
        _ = try? response.head.bodyFraming(requestMethodIsHEAD: false)
    }

    for framing in [BodyFraming.chunked, .contentLength(UInt64(size / 3)), .untilClose] {
        var decoder = BodyDecoder(framing: framing, limits: limits)
        var emitted = 0
        if let used = try? decoder.decode(input, payload: { emitted += $0.count }) {
            precondition(used <= size && emitted <= used, "decoder consumed or emitted too much")
        }
    }
    return 0
}
