import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("HTTPHead helpers")
struct HTTPHeadTests {
    let head: RequestHead

    init() throws {
        let text = "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\nX-Dup: one\r\nx-dup: two\r\n"
            + "TE: trailers;q=1, deflate\r\nUpgrade: h2c\r\nConnection: ,,Upgrade ,\r\nX-Closed: closed\r\n\r\n"
        head = try #require(parseOnce(bytes(text), .default, HeadParser.parseRequestHead).head)
    }

    @Test("the parser recognises each name the proxy acts on, in any case, and no other name")
    func knownFields() throws {
        for known in KnownField.allCases where known != .other {
            let name = known.name.description
            // Mixed case; then one byte changed, one byte longer and one shorter.
            let mixed = String(name.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })
            let near = [String(name.dropLast()) + "x", name + "s", String(name.dropFirst())]
            // HTTP/1.0, so the request needs no Host line of its own.
            let text = "GET / HTTP/1.0\r\n" + ([mixed] + near).map { "\($0): v\r\n" }.joined() + "\r\n"
            let parsed = try #require(parseOnce(bytes(text), .default, HeadParser.parseRequestHead).head)
            #expect(parsed.fields[0].known == known, "\(mixed)")
            #expect(parsed.has(known))
            #expect(KnownField.allCases.filter { parsed.has($0) } == [known])
            for (field, other) in zip(parsed.fields[1...], near) {
                #expect(field.known != known, "\(other)")
            }
        }
        #expect(!head.has(.contentLength) && head.count(named: .contentLength) == 0)
        #expect(head.count(named: .connection) == 2)
        #expect(head.firstValue(named: .host).map(Array.init) == Array("a".utf8))
    }

    @Test("field names match case-insensitively without allocating")
    func fieldNameIs() {
        #expect(head.fieldNameIs(head.fields[0], "host"))
        #expect(!head.fieldNameIs(head.fields[0], "hos"))
        #expect(!head.fieldNameIs(head.fields[0], "hosts"))
        #expect(head.fieldNameIs(head.fields[2], "x-dup") && head.fieldNameIs(head.fields[3], "x-dup"))
        #expect(head.lowercasedName(head.fields[1]) == "connection")
        #expect(Array(head.name(head.fields[1])) == bytes("Connection"))
        #expect(Array(head.value(head.fields[1])) == bytes("keep-alive, Close"))
    }

    @Test("firstValue returns the first of duplicate fields, nil when absent")
    func firstValue() {
        #expect(head.firstValue(named: "x-dup").map { Array($0) } == bytes("one"))
        #expect(head.firstValue(named: "absent") == nil)
        #expect(head.count(named: "x-dup") == 2)
    }

    @Test("hasToken finds close in Connection: keep-alive, Close")
    func hasTokenClose() {
        #expect(head.hasToken("close", inFieldsNamed: "connection"))
        #expect(head.hasToken("keep-alive", inFieldsNamed: "connection"))
    }

    @Test("hasToken looks through every line, skips empty elements and ignores parameters")
    func hasTokenLists() {
        #expect(head.hasToken("upgrade", inFieldsNamed: "connection"))
        #expect(head.hasToken("trailers", inFieldsNamed: "te"))
        #expect(head.hasToken("deflate", inFieldsNamed: "te"))
        #expect(head.hasToken("h2c", inFieldsNamed: "upgrade"))
    }

    @Test("hasToken matches whole elements only")
    func hasTokenWholeElements() {
        #expect(!head.hasToken("close", inFieldsNamed: "x-closed"))
        #expect(!head.hasToken("keep", inFieldsNamed: "connection"))
        #expect(!head.hasToken("close", inFieldsNamed: "te"))
        #expect(!head.hasToken("", inFieldsNamed: "absent"))
    }
}
}
