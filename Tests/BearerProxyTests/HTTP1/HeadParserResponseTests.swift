import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("HeadParser: responses")
struct HeadParserResponseTests {
    @Test("parser reads a status line, fields, and stops before the body")
    func simpleResponse() throws {
        let headText = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n"
        let outcome = parseOnce(bytes(headText + "hello"), .default, HeadParser.parseResponseHead)
        let head = try #require(outcome.head)
        #expect(outcome.consumed == headText.utf8.count)
        #expect(head.raw == bytes(headText))
        #expect(head.version == .http1_1)
        #expect(head.status == 200)
        #expect(head.reasonString == "OK")
        #expect(head.pairs == [["content-length", "5"], ["content-type", "text/plain"]])
        #expect(response(headText) == outcome)
    }

    @Test("parser accepts an empty reason, a reason with spaces and HTTP/1.0")
    func reasons() {
        #expect(response("HTTP/1.1 204 \r\n\r\n").head?.reasonString == "")
        #expect(response("HTTP/1.1 404 Not  Found\t!\r\n\r\n").head?.reasonString == "Not  Found\t!")
        #expect(response("HTTP/1.0 500 Oops\r\n\r\n").head?.version == .http1_0)
        #expect(response("HTTP/1.1 100 Continue\r\n\r\n").head?.isInformational == true)
    }

    @Test("parser rejects a malformed status line", arguments: [
        "HTTP/1.1 200\r\n\r\n", "HTTP/1.1 20 OK\r\n", "HTTP/1.1 2000 OK\r\n", "HTTP/1.1 099 X\r\n",
        "HTTP/1.1 600 X\r\n", "HTTP/1.1  200 OK\r\n", "HTTP/2 200 OK\r\n", "http/1.1 200 OK\r\n",
        "HTTP/1.1 200 O\u{1}K\r\n", "HTTP/1.1 200 O\u{7F}\r\n", "\r\nHTTP/1.1 200 OK\r\n", "HTTP/1.1\r\n",
    ])
    func malformedStatusLine(_ text: String) {
        #expect(response(text).error == .invalidStatusLine)
    }

    @Test("parser rejects well-formed versions other than 1.0 and 1.1 in a response")
    func unsupportedVersion() {
        #expect(response("HTTP/2.0 200 OK\r\n\r\n").error == .unsupportedVersion)
    }

    @Test("parser applies the field-line rules to response heads too", arguments: [
        ("HTTP/1.1 200 OK\nA: b\r\n\r\n", HTTP1Error.bareLineFeed),
        ("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", .obsoleteLineFolding),
        ("HTTP/1.1 200 OK\r\nA : b\r\n\r\n", .whitespaceBeforeColon),
        ("HTTP/1.1 200 OK\r\nA: \u{0}\r\n\r\n", .invalidFieldValue),
        ("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", .bareCarriageReturn),
        ("HTTP/1.1 200 OK\r\n[: b\r\n\r\n", .invalidFieldName),
    ])
    func fieldRules(_ text: String, _ expected: HTTP1Error) {
        #expect(response(text).error == expected)
    }

    @Test("parser bounds response heads by maxHeadSize and maxFieldCount")
    func limits() {
        var limits = HTTP1Limits()
        limits.maxHeadSize = 25  // "HTTP/1.1 200 OK\r\nA: b\r\n\r\n"
        #expect(response("HTTP/1.1 200 OK\r\nA: b\r\n\r\n", limits: limits).head != nil)
        #expect(response("HTTP/1.1 200 OK\r\nA: bc\r\n\r\n", limits: limits).error == .headTooLarge)
        limits = HTTP1Limits()
        limits.maxFieldCount = 1
        #expect(response("HTTP/1.1 200 OK\r\nA: b\r\nC: d\r\n\r\n", limits: limits).error == .tooManyFields)
    }
}
}
