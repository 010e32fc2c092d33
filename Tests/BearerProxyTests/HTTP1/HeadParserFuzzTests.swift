import Testing
@testable import BearerProxy

/// Deterministic generator so a failing case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension HTTP1Tests {
@Suite("HTTP/1.1 layer under random and mutated input")
struct HeadParserFuzzTests {
    /// Bytes that matter to the grammar, plus a few that must always be refused.
    static let alphabet = bytes("GETPOSTHP/1.0 \r\n\r\n:;=,\"\t-_aZ09*?#") + [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x0D, 0x20]

    static let seeds = [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /p?q HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: keep-alive, close\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
        "\r\nGET http://a/ HTTP/1.0\r\nX:  y \r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ].map(bytes)

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var out = input
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let at = out.isEmpty ? 0 : Int.random(in: 0..<out.count, using: &rng)
            let byte = alphabet.randomElement(using: &rng)!
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !out.isEmpty: out[at] = byte
            case 1: out.insert(byte, at: at)
            case 2 where !out.isEmpty: out.remove(at: at)
            case 3 where !out.isEmpty:
                let end = min(out.count, at + Int.random(in: 1...8, using: &rng))
                out.insert(contentsOf: out[at..<end], at: at)
            default: out.insert(contentsOf: bytes("\r\n"), at: at)
            }
        }
        return out
    }

    /// Whole and byte-by-byte parses agree, a parsed head is consistent with its input, and its
    /// framing either resolves or throws; a body then decodes the same whole and byte by byte.
    @discardableResult
    static func check<Parser: IncrementalHeadParser>(
        _ input: [UInt8], _ parse: HeadParse<Parser.Head>, resuming: Parser.Type,
        framing: (Parser.Head) throws(HTTP1Error) -> BodyFraming
    ) -> Bool where Parser.Head: HTTPHead {
        let limits = HTTP1Limits.default
        let whole = parseOnce(input, limits, parse)
        #expect(parseGrowing(input, cuts: Array(0..<input.count), limits, parse) == whole, "input \(input)")
        #expect(parseGrowing(input, cuts: Array(0..<input.count), limits, resuming: resuming) == whole, "input \(input)")
        guard case .parsed(let head, let consumed) = whole else { return false }
        #expect(consumed <= input.count)
        #expect(Array(input[(consumed - head.raw.count)..<consumed]) == head.raw)
        #expect(head.raw.suffix(4) == bytes("\r\n\r\n")[...])
        for field in head.fields {
            #expect(!field.name.isEmpty && field.name.upperBound < field.value.lowerBound && field.value.upperBound <= head.raw.count)
        }
        guard let bodyFraming = try? framing(head) else { return true }
        let rest = Array(input[consumed...])
        let wholeBody = decodePieces(rest, framing: bodyFraming, limits: limits, cuts: [])
        #expect(decodePieces(rest, framing: bodyFraming, limits: limits, cuts: Array(0..<rest.count)) == wholeBody)
        return true
    }

    /// Returns how many of the two parsers produced a head, so tests can tell they reached deep paths.
    @discardableResult
    static func checkBoth(_ input: [UInt8]) -> Int {
        let request = check(input, HeadParser.parseRequestHead, resuming: RequestHeadParser.self) { (head) throws(HTTP1Error) in try head.bodyFraming() }
        let response = check(input, HeadParser.parseResponseHead, resuming: ResponseHeadParser.self) { (head) throws(HTTP1Error) in try head.bodyFraming(requestMethodIsHEAD: false) }
        return (request ? 1 : 0) + (response ? 1 : 0)
    }

    @Test("random bytes never crash the parsers and parse the same whole and byte by byte")
    func randomBytes() {
        var rng = SplitMix64(state: 0xB0A7)
        for _ in 0..<400 {
            let input = (0..<Int.random(in: 0...80, using: &rng)).map { _ in Self.alphabet.randomElement(using: &rng)! }
            Self.checkBoth(input)
        }
    }

    @Test("mutated valid messages never crash and either parse or throw, the same way however they arrive")
    func mutatedMessages() {
        var rng = SplitMix64(state: 0x5EED)
        var parsed = 0
        for _ in 0..<1200 {
            parsed += Self.checkBoth(Self.mutate(Self.seeds.randomElement(using: &rng)!, &rng))
        }
        // Mutations must leave enough valid heads for framing and body decoding to be exercised.
        #expect(parsed > 200, "only \(parsed) mutated messages parsed")
    }

    @Test("mutated chunked bodies decode the same whole, byte by byte and split")
    func mutatedChunkedBodies() {
        var rng = SplitMix64(state: 0xC4A2)
        let seeds = ["5;a=\"b\"\r\nhello\r\n1\r\n!\r\n0\r\nX: y\r\n\r\nNEXT", "0\r\n\r\n", "A\r\n0123456789\r\n0;z\r\n\r\n"].map(bytes)
        for _ in 0..<800 {
            let input = Self.mutate(seeds.randomElement(using: &rng)!, &rng)
            let whole = decodePieces(input, framing: .chunked, limits: .default, cuts: [])
            #expect(decodePieces(input, framing: .chunked, limits: .default, cuts: Array(0..<input.count)) == whole)
            let cut = Int.random(in: 0...input.count, using: &rng)
            #expect(decodePieces(input, framing: .chunked, limits: .default, cuts: [cut]) == whole)
        }
    }
}
}
