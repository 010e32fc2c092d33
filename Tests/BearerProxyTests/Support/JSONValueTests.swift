@testable import BearerProxy
import Testing

@Suite("JSONValue parsing")
struct JSONValueTests {
    static func parse(_ text: String) -> JSONValue? {
        try? JSONValue.parse(Array(text.utf8))
    }

    @Test("objects, arrays, strings, numbers, literals and whitespace (RFC 8259 §2-§7)")
    func accepts() throws {
        let value = try JSONValue.parse(Array(#" {"a" : [ 1 , -2.5e2 , true , false , null , {} , [] ] ,"b":"x\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00" }"#.utf8))
        #expect(value == .object([
            "a": .array([.number(1), .number(-250), .bool(true), .bool(false), .null, .object([:]), .array([])]),
            "b": .string("x\"\\/\u{8}\u{c}\n\r\té😀"),
        ]))
        #expect(Self.parse("[]") == .array([]))
        #expect(Self.parse("{\t\r\n}") == .object([:]))
        #expect(Self.parse(#"{"":"\u0000"}"#) == .object(["": .string("\u{0}")]))
        #expect(Self.parse("{\"a\":\"é\u{7f}\"}") == .object(["a": .string("é\u{7f}")]))
    }

    @Test("numbers follow RFC 8259 §6: leading zeros, bare dots, plus signs, NaN and overflow are refused")
    func numbers() {
        for (text, expected) in [("0", 0.0), ("-0", 0), ("1E2", 100), ("1e+2", 100), ("1.5e-1", 0.15),
                                 ("1e-400", 0), ("9007199254740993", 9_007_199_254_740_992),
                                 ("123456789012345678901234567890", 1.2345678901234568e29)] {
            #expect(Self.parse("[\(text)]") == .array([.number(expected)]), "\(text)")
        }
        for text in ["01", "-01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1.7976931348623159e308"] {
            #expect(Self.parse("[\(text)]") == nil, "\(text)")
        }
    }

    @Test("a trailing comma after the last member or element is tolerated, as JSONSerialization did; nothing else is")
    func trailingComma() {
        #expect(Self.parse(#"{"a":1,}"#) == .object(["a": .number(1)]))
        #expect(Self.parse("[1 , ]") == .array([.number(1)]))
        for text in ["{,}", "[,]", #"{"a":1,,}"#, "[1,,2]", "[,1]", #"{"a":1 "b":2}"#, "[1 2]"] {
            #expect(Self.parse(text) == nil, "\(text)")
        }
    }

    @Test("a later duplicate key wins, as it did with JSONSerialization")
    func duplicateKeys() {
        #expect(Self.parse(#"{"access_token":"first","access_token":"second"}"#) == .object(["access_token": .string("second")]))
    }

    @Test("the top level must be one object or array, whitespace around it only")
    func topLevel() {
        for text in ["", " ", #""x""#, "1", "true", "null", "{} x", "{}\u{0}", "{}{}", "\u{a0}{}", "{\u{c}}", "{/*c*/}", "{'a':1}", "{a:1}"] {
            #expect(Self.parse(text) == nil, "\(text.debugDescription)")
        }
        #expect(Self.parse(" {}\n") == .object([:]))
    }

    @Test("literals are exact")
    func literals() {
        for text in ["[tru]", "[truex]", "[True]", "[nul]", "[falsey]"] {
            #expect(Self.parse(text) == nil, "\(text)")
        }
    }

    @Test("strings: control characters must be escaped, escapes are the RFC's, surrogates come in pairs (RFC 8259 §7)")
    func strings() {
        for text in ["[\"\u{1}\"]", "[\"\u{1f}\"]", "[\"\n\"]", #"["\x"]"#, #"["\U00e9"]"#, #"["\u00"]"#, #"["\u00g0"]"#,
                     #"["\ud800"]"#, #"["\ud83d\u0041"]"#, #"["\ud83d\n"]"#, #"["\udc00\ud800"]"#, #"["abc"#, #"["\"#] {
            #expect(Self.parse(text) == nil, "\(text.debugDescription)")
        }
        #expect(Self.parse(#"["\uD83D\uDE00"]"#) == .array([.string("😀")]))
    }

    @Test("text that is not UTF-8 is refused; a UTF-8 byte order mark is skipped (RFC 8259 §8.1)")
    func encoding() {
        func parse(_ bytes: [UInt8]) -> JSONValue? { try? JSONValue.parse(bytes) }
        #expect(parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8)) == .object([:]))
        #expect(parse(Array(#"[""#.utf8) + [0xFF] + Array(#""]"#.utf8)) == nil)
        #expect(parse(Array(#"[""#.utf8) + [0xC0, 0xAF] + Array(#""]"#.utf8)) == nil)
        #expect(parse(Array(#"[""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""]"#.utf8)) == nil)
        #expect(parse(Array(#"[""#.utf8) + [0xC3] + Array(#"\u00e9"]"#.utf8)) == nil)
        // JSONSerialization also guessed UTF-16 and UTF-32; RFC 8259 §8.1 asks for UTF-8 between systems.
        #expect(parse([0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00]) == nil)
        #expect(parse([0x7B, 0x00, 0x7D, 0x00]) == nil)
    }

    @Test("nesting up to 512 containers deep is accepted, deeper is refused")
    func depth() {
        let deepest = "{\"a\":" + String(repeating: "[", count: 511) + String(repeating: "]", count: 511) + "}"
        #expect(Self.parse(deepest) != nil)
        let tooDeep = "{\"a\":" + String(repeating: "[", count: 512) + String(repeating: "]", count: 512) + "}"
        #expect(Self.parse(tooDeep) == nil)
        #expect(Self.parse(String(repeating: "[", count: 100_000)) == nil)
    }

    @Test("an error names the reason and the byte offset, not the text")
    func errorText() {
        #expect(throws: JSONParseError(reason: "number with a leading zero", offset: 6)) {
            try JSONValue.parse(Array(#"{"e":01}"#.utf8))
        }
        #expect(throws: JSONParseError(reason: "unexpected data after the value", offset: 3)) {
            try JSONValue.parse(Array("{} secret".utf8))
        }
    }

    @Test("every prefix of a document is refused, the whole document accepted")
    func prefixes() {
        let bytes = Array(#"{"access_token":"a.b.c","token_type":"Bearer","expires_in":3600,"scope":"x y","n":[null,true,-1.5e3]}"#.utf8)
        for end in 0..<bytes.count {
            #expect((try? JSONValue.parse(Array(bytes[..<end]))) == nil, "prefix \(end)")
        }
        #expect((try? JSONValue.parse(bytes)) != nil)
    }

    @Test("sorted text: keys sorted, compact, slashes as they are, integral numbers without a fraction")
    func sortedText() {
        let value = Self.parse(#"{"sub":"a/b","exp":1700000300,"iat":1.7e9,"f":1.25,"big":1e300,"neg":-0,"l":[true,null,"\u0001"]}"#)
        #expect(value?.sortedText == #"{"big":1e+300,"exp":1700000300,"f":1.25,"iat":1700000000,"l":[true,null,"\u0001"],"neg":0,"sub":"a/b"}"#)
    }

    @Test("accessors: a boolean is not a number; strings() needs every element to be a string")
    func accessors() {
        #expect(JSONValue.bool(true).number == nil)
        #expect(JSONValue.number(2).string == nil)
        #expect(JSONValue.array([.string("a"), .string("b")]).strings == ["a", "b"])
        #expect(JSONValue.array([.string("a"), .number(1)]).strings == nil)
        #expect(JSONValue.array([]).strings == [])
    }
}
