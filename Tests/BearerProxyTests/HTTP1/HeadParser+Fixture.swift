import Testing
@testable import BearerProxy

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// What one attempt to parse a head produced, comparable across ways of feeding it.
enum HeadOutcome<Head: Equatable>: Equatable {
    case needMore
    case parsed(Head, consumed: Int)
    case failed(HTTP1Error)

    var error: HTTP1Error? {
        if case .failed(let error) = self { return error }
        return nil
    }

    var head: Head? {
        if case .parsed(let head, _) = self { return head }
        return nil
    }

    var consumed: Int? {
        if case .parsed(_, let consumed) = self { return consumed }
        return nil
    }
}

typealias HeadParse<Head> = (UnsafeRawBufferPointer, HTTP1Limits) throws(HTTP1Error) -> (head: Head, consumed: Int)?

func parseOnce<Head>(_ input: [UInt8], _ limits: HTTP1Limits, _ parse: HeadParse<Head>) -> HeadOutcome<Head> {
    input.withUnsafeBytes { buffer in
        do throws(HTTP1Error) {
            guard let result = try parse(buffer, limits) else { return .needMore }
            return .parsed(result.head, consumed: result.consumed)
        } catch {
            return .failed(error)
        }
    }
}

/// Feeds growing prefixes, as a connection would: the prefix ending at each cut, then the whole.
/// The first decisive answer wins.
func parseGrowing<Head>(_ input: [UInt8], cuts: [Int], _ limits: HTTP1Limits, _ parse: HeadParse<Head>) -> HeadOutcome<Head> {
    for cut in cuts where cut < input.count {
        let outcome = parseOnce(Array(input[..<cut]), limits, parse)
        if outcome != .needMore { return outcome }
    }
    return parseOnce(input, limits, parse)
}

/// Parses `input` whole, byte by byte, and split in two at every index, expects the same outcome
/// each time, and returns it.
func parseEverywhere<Head>(
    _ input: [UInt8], _ limits: HTTP1Limits, _ parse: HeadParse<Head>,
    sourceLocation: SourceLocation = #_sourceLocation
) -> HeadOutcome<Head> {
    let whole = parseOnce(input, limits, parse)
    let byteByByte = parseGrowing(input, cuts: Array(0..<input.count), limits, parse)
    #expect(byteByByte == whole, "byte by byte", sourceLocation: sourceLocation)
    for cut in 0...input.count {
        let split = parseGrowing(input, cuts: [cut], limits, parse)
        #expect(split == whole, "split at \(cut)", sourceLocation: sourceLocation)
        if split != whole { break }
    }
    return whole
}

func request(_ text: String, limits: HTTP1Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> HeadOutcome<RequestHead> {
    parseEverywhere(bytes(text), limits, HeadParser.parseRequestHead, sourceLocation: sourceLocation)
}

func response(_ text: String, limits: HTTP1Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> HeadOutcome<ResponseHead> {
    parseEverywhere(bytes(text), limits, HeadParser.parseResponseHead, sourceLocation: sourceLocation)
}

extension HTTPHead {
    /// (lowercased name, value) pairs, in order, for readable expectations.
    var pairs: [[String]] { fields.map { [lowercasedName($0), valueString($0)] } }
}
