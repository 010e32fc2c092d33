import Testing
@testable import BearerProxy

/// Everything a body decoding run produced, comparable across ways of splitting the input.
struct BodyOutcome: Equatable {
    var payload: [UInt8] = []
    var consumed = 0
    var complete = false
    var error: HTTP1Error?

    var text: String { String(decoding: payload, as: UTF8.self) }
}

/// Feeds `input` in pieces (cut at `cuts`) to one decoder, stopping when the body is complete.
func decodePieces(_ input: [UInt8], framing: BodyFraming, limits: HTTP1Limits, cuts: [Int]) -> BodyOutcome {
    var decoder = BodyDecoder(framing: framing, limits: limits)
    var outcome = BodyOutcome()
    var start = 0
    for end in cuts.filter({ $0 > 0 && $0 < input.count }) + [input.count] {
        if decoder.isComplete { break }
        let piece = Array(input[start..<end])
        start = end
        let result: Result<Int, HTTP1Error> = piece.withUnsafeBytes { buffer in
            do throws(HTTP1Error) {
                return .success(try decoder.decode(buffer) { outcome.payload.append(contentsOf: $0) })
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let used):
            outcome.consumed += used
            // Until the body ends, every byte offered belongs to it.
            if !decoder.isComplete && used != piece.count { outcome.error = .truncatedBody }
        case .failure(let error):
            outcome.error = error
        }
        if outcome.error != nil { break }
    }
    outcome.complete = decoder.isComplete
    // After an error the connection is dropped, so how far each piece got before it is not
    // part of the contract; the error and the payload handed out before it are.
    if outcome.error != nil { outcome.consumed = 0 }
    return outcome
}

/// Decodes whole, byte by byte, and split in two at every index; expects identical outcomes.
func decodeEverywhere(
    _ input: [UInt8], framing: BodyFraming, limits: HTTP1Limits = .default,
    sourceLocation: SourceLocation = #_sourceLocation
) -> BodyOutcome {
    let whole = decodePieces(input, framing: framing, limits: limits, cuts: [])
    let byteByByte = decodePieces(input, framing: framing, limits: limits, cuts: Array(0..<input.count))
    #expect(byteByByte == whole, "byte by byte", sourceLocation: sourceLocation)
    for cut in 0...input.count {
        let split = decodePieces(input, framing: framing, limits: limits, cuts: [cut])
        #expect(split == whole, "split at \(cut)", sourceLocation: sourceLocation)
        if split != whole { break }
    }
    return whole
}

func chunked(_ text: String, limits: HTTP1Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> BodyOutcome {
    decodeEverywhere(bytes(text), framing: .chunked, limits: limits, sourceLocation: sourceLocation)
}
