import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("RequestHeadParser and ResponseHeadParser (resuming)")
struct RequestHeadParserTests {
    @Test("resuming parser is ready for the next pipelined request after returning a head")
    func reuseAfterHead() throws {
        let first = bytes("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n")
        let second = bytes("GET /2 HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n")
        var parser = RequestHeadParser()
        let all = first + second
        let one = try all.withUnsafeBytes { try parser.parse($0) }
        #expect(one?.consumed == first.count)
        let rest = Array(all[first.count...])
        // Feed the second in two pieces to the same parser.
        let partial = try rest.withUnsafeBytes { try parser.parse(UnsafeRawBufferPointer(rebasing: $0[..<20])) }
        #expect(partial == nil)
        let two = try rest.withUnsafeBytes { try parser.parse($0) }
        #expect(two?.head.targetString == "/2")
        #expect(two?.head.pairs == [["host", "a"], ["x", "y"]])
    }

    @Test("resuming parser starts over after an error")
    func resetAfterError() throws {
        var parser = RequestHeadParser()
        #expect(throws: HTTP1Error.bareLineFeed) { try bytes("GET / HTTP/1.1\n").withUnsafeBytes { try parser.parse($0) } }
        let head = try bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n").withUnsafeBytes { try parser.parse($0) }
        #expect(head?.head.methodString == "GET")
    }

    @Test("resuming parser reads a 30 KiB head fed one byte at a time, resuming inside long names and values")
    func dribbledLargeHead() throws {
        let text = "GET / HTTP/1.1\r\nHost: a\r\nX-" + String(repeating: "n", count: 8000) + ": "
            + String(repeating: "v", count: 8000) + "\r\n" + String(repeating: "Y: " + String(repeating: "w", count: 150) + "\r\n", count: 90) + "\r\n"
        let input = bytes(text)
        var parser = RequestHeadParser()
        var result: (head: RequestHead, consumed: Int)?
        try input.withUnsafeBytes { buffer in
            for end in 1...buffer.count {
                result = try parser.parse(UnsafeRawBufferPointer(rebasing: buffer[..<end]))
                if result != nil { #expect(end == buffer.count); break }
            }
        }
        let head = try #require(result?.head)
        #expect(head.fields.count == 92)
        #expect(head.value(head.fields[1]).count == 8000)
        #expect(head.raw == input)
    }

    @Test("resuming response parser gives the same head as the one-shot parser")
    func responseResuming() throws {
        let input = bytes("HTTP/1.1 200 OK\r\nA: b\r\nC:  d \r\n\r\nbody")
        var parser = ResponseHeadParser()
        var last: (head: ResponseHead, consumed: Int)?
        try input.withUnsafeBytes { buffer in
            for end in [5, 17, 20, 28, input.count] where last == nil {
                last = try parser.parse(UnsafeRawBufferPointer(rebasing: buffer[..<end]))
            }
        }
        let oneShot = try input.withUnsafeBytes { try HeadParser.parseResponseHead($0) }
        #expect(last?.head == oneShot?.head)
        #expect(last?.consumed == input.count - 4)
    }
}
}
