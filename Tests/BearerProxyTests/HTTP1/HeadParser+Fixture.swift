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

/// The per-connection parsers, so one fixture can drive either.
protocol IncrementalHeadParser {
    associatedtype Head: Equatable
    init(limits: HTTP1Limits)
    mutating func parse(_ buffer: UnsafeRawBufferPointer) throws(HTTP1Error) -> (head: Head, consumed: Int)?
}

extension RequestHeadParser: IncrementalHeadParser {}
extension ResponseHeadParser: IncrementalHeadParser {}

/// Feeds growing prefixes, as a connection would: the prefix ending at each cut, then the whole.
/// The first decisive answer wins. Stateless: every call starts from scratch.
func parseGrowing<Head>(_ input: [UInt8], cuts: [Int], _ limits: HTTP1Limits, _ parse: HeadParse<Head>) -> HeadOutcome<Head> {
    for cut in cuts where cut < input.count {
        let outcome = parseOnce(Array(input[..<cut]), limits, parse)
        if outcome != .needMore { return outcome }
    }
    return parseOnce(input, limits, parse)
}

/// The same with one resumable parser kept across calls, as a connection keeps it.
func parseGrowing<Parser: IncrementalHeadParser>(
    _ input: [UInt8], cuts: [Int], _ limits: HTTP1Limits, resuming _: Parser.Type
) -> HeadOutcome<Parser.Head> {
    var parser = Parser(limits: limits)
    for end in cuts.filter({ $0 < input.count }) + [input.count] {
        let outcome = parseOnce(Array(input[..<end]), limits) { (buffer, _) throws(HTTP1Error) in try parser.parse(buffer) }
        if outcome != .needMore { return outcome }
    }
    return .needMore
}

/// Parses `input` whole, byte by byte (from scratch each time, and with one resuming parser), and
/// split in two at every index (resuming), expects the same outcome each time, and returns it.
func parseEverywhere<Parser: IncrementalHeadParser>(
    _ input: [UInt8], _ limits: HTTP1Limits, _ parse: HeadParse<Parser.Head>, resuming: Parser.Type,
    sourceLocation: SourceLocation = #_sourceLocation
) -> HeadOutcome<Parser.Head> {
    let whole = parseOnce(input, limits, parse)
    let everyByte = Array(0..<input.count)
    #expect(parseGrowing(input, cuts: everyByte, limits, parse) == whole, "byte by byte", sourceLocation: sourceLocation)
    #expect(parseGrowing(input, cuts: everyByte, limits, resuming: resuming) == whole, "byte by byte, resuming", sourceLocation: sourceLocation)
    for cut in 0...input.count {
        let split = parseGrowing(input, cuts: [cut], limits, resuming: resuming)
        #expect(split == whole, "split at \(cut)", sourceLocation: sourceLocation)
        if split != whole { break }
    }
    return whole
}

func request(_ text: String, limits: HTTP1Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> HeadOutcome<RequestHead> {
    parseEverywhere(bytes(text), limits, HeadParser.parseRequestHead, resuming: RequestHeadParser.self, sourceLocation: sourceLocation)
}

func response(_ text: String, limits: HTTP1Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> HeadOutcome<ResponseHead> {
    parseEverywhere(bytes(text), limits, HeadParser.parseResponseHead, resuming: ResponseHeadParser.self, sourceLocation: sourceLocation)
}

extension HTTPHead {
    /// (lowercased name, value) pairs, in order, for readable expectations.
    var pairs: [[String]] { fields.map { [lowercasedName($0), valueString($0)] } }
}
