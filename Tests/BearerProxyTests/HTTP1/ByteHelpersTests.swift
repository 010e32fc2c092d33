import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("ByteHelpers")
struct ByteHelpersTests {
    @Test("the first byte that is not field content is found for every byte value, at every position and length")
    func firstNonFieldContent() {
        // RFC 9110 §5.5: VCHAR, obs-text, SP and HTAB are field content; other controls and DEL are not.
        func isContent(_ b: UInt8) -> Bool { b == 0x09 || (b >= 0x20 && b != 0x7F) }
        for length in 1...19 {
            for position in 0..<length {
                for b in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length + 2)
                    bytes[1 + position] = UInt8(b)
                    let found = bytes.withUnsafeBytes { $0.firstNonFieldContent(in: 1..<(1 + length)) }
                    if found != (isContent(UInt8(b)) ? nil : 1 + position) {
                        Issue.record("byte \(b) at \(position) of \(length): \(String(describing: found))")
                        return
                    }
                }
            }
        }
        // A bad byte after a good control-free word, and the first of two bad bytes.
        let text = Array("0123456789\t\u{7F}x\u{01}".utf8)
        #expect(text.withUnsafeBytes { $0.firstNonFieldContent(in: 0..<text.count) } == 11)
        #expect(text.withUnsafeBytes { $0.firstNonFieldContent(in: 0..<11) } == nil)
        // Outside the range, nothing counts.
        #expect(text.withUnsafeBytes { $0.firstNonFieldContent(in: 12..<13) } == nil)
    }

    @Test("tchar masks match RFC 9110 §5.6.2 for every byte value")
    func tcharMasks() {
        let specials = Set("!#$%&'*+-.^_`|~".utf8)
        for b in 0...255 {
            let byte = UInt8(b)
            let expected = specials.contains(byte) || (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
            #expect(ASCII.isTchar(byte) == expected, "byte \(b)")
        }
    }

    @Test("field content allows HTAB, SP, VCHAR and obs-text only")
    func fieldContent() {
        for b in 0...255 {
            let expected = b == 0x09 || (0x20...0x7E).contains(b) || b >= 0x80
            #expect(ASCII.isFieldContent(UInt8(b)) == expected, "byte \(b)")
        }
    }

    @Test("hexValue decodes both cases and nothing else")
    func hexValue() {
        for b in 0...255 {
            let expected = UInt8(String(UnicodeScalar(UInt8(b))), radix: 16)
            #expect(ASCII.hexValue(UInt8(b)) == expected, "byte \(b)")
        }
    }

    @Test("list elements are split on commas with OWS trimmed and empty elements kept")
    func listElements() {
        let raw = bytes(" a ,\tb,, c d ,")
        var elements: [String] = []
        ASCII.forEachListElement(raw, 0..<raw.count) { range in
            elements.append(String(decoding: raw[range], as: UTF8.self))
            return true
        }
        #expect(elements == ["a", "b", "", "c d", ""])
    }

    @Test("copying a raw buffer yields the same bytes, including empty")
    func copying() {
        let source = bytes("hello")
        source.withUnsafeBytes { #expect([UInt8](copying: $0) == source) }
        [UInt8]().withUnsafeBytes { #expect([UInt8](copying: $0).isEmpty) }
    }
}
}
