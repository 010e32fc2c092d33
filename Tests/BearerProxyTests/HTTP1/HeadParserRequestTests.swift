import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("HeadParser: requests")
struct HeadParserRequestTests {
    @Test("parser reads a simple GET")
    func simpleGET() throws {
        let text = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
        let outcome = request(text)
        let head = try #require(outcome.head)
        #expect(outcome.consumed == text.utf8.count)
        #expect(head.raw == bytes(text))
        #expect(head.methodString == "GET")
        #expect(head.targetString == "/index.html?q=1")
        #expect(head.version == .http1_1)
        #expect(head.pairs == [["host", "example.com"]])
        #expect(!head.isHEAD && !head.isCONNECT)
    }

    @Test("parser keeps many fields and duplicates in received order")
    func duplicatesInOrder() throws {
        var text = "POST /upload HTTP/1.1\r\nHost: a\r\n"
        for i in 0..<20 { text += "X-Item: \(i)\r\nset-cookie: c\(i)\r\n" }
        text += "Accept: */*\r\n\r\n"
        let head = try #require(request(text).head)
        #expect(head.fields.count == 42)
        #expect(head.pairs[1] == ["x-item", "0"])
        #expect(head.pairs[2] == ["set-cookie", "c0"])
        #expect(head.pairs[39] == ["x-item", "19"])
        #expect(head.pairs.last == ["accept", "*/*"])
    }

    @Test("parser trims OWS around values and keeps inner whitespace, HTAB and obs-text")
    func valueTrimming() throws {
        let text = "GET / HTTP/1.1\r\nHost:a\r\nX: \t a \t b \t\r\nEmpty:\r\nBlank:   \r\nLatin: caf\u{E9}\r\n\r\n"
        let head = try #require(request(text).head)
        #expect(head.pairs == [["host", "a"], ["x", "a \t b"], ["empty", ""], ["blank", ""], ["latin", "caf\u{E9}"]])
    }

    @Test("parser stops at the end of the first of two pipelined requests")
    func pipelined() throws {
        let first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
        let second = "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        let all = bytes(first + second)
        let outcome = parseOnce(all, .default, HeadParser.parseRequestHead)
        #expect(outcome.consumed == first.utf8.count)
        #expect(outcome.head?.targetString == "/1")
        let rest = Array(all[first.utf8.count...])
        #expect(parseOnce(rest, .default, HeadParser.parseRequestHead).head?.targetString == "/2")
    }

    @Test("parser ignores a few empty lines before the request line, counts them, keeps them out of raw")
    func leadingEmptyLines() throws {
        let outcome = request("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = try #require(outcome.head)
        #expect(outcome.consumed == 4 + head.raw.count)
        #expect(head.raw == bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(head.raw.first == UInt8(ascii: "G"))
        #expect(head.methodString == "GET")
    }

    @Test("parser rejects more leading empty lines than the limit")
    func tooManyLeadingEmptyLines() {
        #expect(request(String(repeating: "\r\n", count: 5) + "GET / HTTP/1.1\r\n").error == .invalidRequestLine)
    }

    @Test("parser accepts HTTP/1.0 without Host")
    func http10WithoutHost() {
        #expect(request("GET / HTTP/1.0\r\n\r\n").head?.version == .http1_0)
    }

    @Test("parser rejects HTTP/1.1 without Host and any request with two Host lines (RFC 9112 §3.2)",
          arguments: ["GET / HTTP/1.1\r\n\r\n",
                      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                      "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n"])
    func hostRules(_ text: String) {
        #expect(request(text).error == .invalidHost)
    }

    @Test("parser accepts each request-target form for its method (RFC 9112 §3.2)", arguments: [
        "GET /a/b?c=d HTTP/1.1", "GET http://example.com/x HTTP/1.1", "OPTIONS * HTTP/1.1",
        "CONNECT example.com:443 HTTP/1.1", "CONNECT [::1]:8443 HTTP/1.1", "HEAD //x HTTP/1.1",
    ])
    func targetForms(_ line: String) {
        #expect(request(line + "\r\nHost: a\r\n\r\n").head != nil)
    }

    @Test("HEAD and CONNECT helpers compare the method exactly (RFC 9110 §9.1: case-sensitive)")
    func methodHelpers() {
        #expect(request("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").head?.isHEAD == true)
        #expect(request("head / HTTP/1.1\r\nHost: a\r\n\r\n").head?.isHEAD == false)
        #expect(request("CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n").head?.isCONNECT == true)
    }

    @Test("parser rejects a malformed request line", arguments: [
        ("GET  / HTTP/1.1\r\n", HTTP1Error.invalidRequestLine),
        ("GET /  HTTP/1.1\r\n", .invalidRequestLine),
        (" GET / HTTP/1.1\r\n", .invalidRequestLine),
        ("GET / HTTP/1.1 \r\n", .invalidRequestLine),
        ("GET /\r\n", .invalidRequestLine),
        ("GET\r\n", .invalidRequestLine),
        ("G(T / HTTP/1.1\r\n", .invalidRequestLine),
        ("GET\t/ HTTP/1.1\r\n", .invalidRequestLine),
        ("GET / http/1.1\r\n", .invalidRequestLine),
        ("GET / HTTP/1.10\r\n", .invalidRequestLine),
        ("GET / HTTP/11\r\n", .invalidRequestLine),
        ("GET / HTTP/1.1\rX", .bareCarriageReturn),
        ("\rGET", .bareCarriageReturn),
    ])
    func malformedRequestLine(_ text: String, _ expected: HTTP1Error) {
        #expect(request(text).error == expected)
    }

    @Test("parser rejects a target with CTLs, non-ASCII, a fragment or the wrong form", arguments: [
        "GET /a\u{7F} HTTP/1.1", "GET /\u{01} HTTP/1.1", "GET /\u{E9} HTTP/1.1", "GET /a\tb HTTP/1.1",
        "GET /a#frag HTTP/1.1", "GET * HTTP/1.1", "GET foo HTTP/1.1", "GET 1http://a HTTP/1.1",
        "CONNECT /x HTTP/1.1", "CONNECT a HTTP/1.1", "CONNECT a:x HTTP/1.1", "CONNECT user@a:1 HTTP/1.1",
    ])
    func invalidTargets(_ line: String) {
        #expect(request(line + "\r\nHost: a\r\n\r\n").error == .invalidTarget)
    }

    @Test("parser rejects well-formed versions other than 1.0 and 1.1 as unsupported",
          arguments: ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"])
    func unsupportedVersions(_ version: String) {
        #expect(request("GET / \(version)\r\nHost: a\r\n\r\n").error == .unsupportedVersion)
    }

    @Test("parser names the HTTP/2 connection preface (RFC 9113 §3.4)")
    func http2Preface() {
        #expect(request("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").error == .http2Preface)
        #expect(request("PRI * HTTP/1.1\r\nHost: a\r\n\r\n").error == .invalidTarget)
    }

    @Test("parser rejects a bare LF anywhere in the head", arguments: [
        "\nGET / HTTP/1.1\r\n", "GET / HTTP/1.1\nHost: a\r\n\r\n", "GET /\n", "GET / HTTP/1.1\r\nHost: a\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\n", "GET / HTTP/1.1\r\nHo\nst: a\r\n\r\n",
    ])
    func bareLineFeed(_ text: String) {
        #expect(request(text).error == .bareLineFeed)
    }

    @Test("parser rejects a CR not followed by LF in a field line")
    func bareCarriageReturnInField() {
        #expect(request("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n").error == .bareCarriageReturn)
        #expect(request("GET / HTTP/1.1\r\nHost: a\r\n\rX").error == .bareCarriageReturn)
    }

    @Test("parser rejects whitespace between field name and colon (RFC 9112 §5.1)",
          arguments: ["Host : a", "Host\t: a", "X-A  : b"])
    func whitespaceBeforeColon(_ line: String) {
        #expect(request("GET / HTTP/1.1\r\n\(line)\r\n\r\n").error == .whitespaceBeforeColon)
    }

    @Test("parser rejects obsolete line folding (RFC 9112 §5.2)", arguments: [
        "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
    ])
    func obsoleteLineFolding(_ text: String) {
        #expect(request(text).error == .obsoleteLineFolding)
    }

    @Test("parser rejects NUL, CTLs and DEL in a field value (RFC 9110 §5.5)",
          arguments: ["a\u{0}b", "\u{1}", "a\u{1F}", "a\u{7F}", "a\u{0B}b"])
    func invalidFieldValue(_ value: String) {
        #expect(request("GET / HTTP/1.1\r\nHost: a\r\nX: \(value)\r\n\r\n").error == .invalidFieldValue)
    }

    @Test("parser rejects a field name that is empty or not a token", arguments: [
        ": a", "X(: a", "X-\u{E9}: a", "NoColon", "X\u{0}: a", "\"X\": a",
    ])
    func invalidFieldName(_ line: String) {
        #expect(request("GET / HTTP/1.1\r\nHost: a\r\n\(line)\r\n\r\n").error == .invalidFieldName)
    }

    @Test("parser rejects a request line longer than the limit before its CRLF arrives")
    func requestLineTooLong() {
        var limits = HTTP1Limits()
        limits.maxRequestLineLength = 16
        // "GET /0123456 HTTP/1.1" would be 21 bytes; the 17th byte already decides.
        #expect(request("GET /0123456789ab", limits: limits).error == .requestLineTooLong)
        #expect(request("GET /0123456789abcdef", limits: limits).error == .requestLineTooLong)
        // Exactly at the limit is fine: "GET /abc HTTP/1.1" is 17 bytes, "GET /ab HTTP/1.1" 16.
        #expect(request("GET /ab HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits).head != nil)
        #expect(request("GET /abc HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits).error == .requestLineTooLong)
    }

    @Test("parser rejects a request line over the default 8 KiB limit without waiting for CRLF")
    func requestLineTooLongDefault() {
        let line = bytes("GET /" + String(repeating: "a", count: 9000))
        #expect(parseOnce(line, .default, HeadParser.parseRequestHead).error == .requestLineTooLong)
        #expect(parseOnce(Array(line[..<8192]), .default, HeadParser.parseRequestHead) == .needMore)
    }

    @Test("parser rejects more fields than the limit at the first extra field")
    func tooManyFields() {
        var limits = HTTP1Limits()
        limits.maxFieldCount = 3
        #expect(request("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n", limits: limits).head != nil)
        #expect(request("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\nD", limits: limits).error == .tooManyFields)
        let many = "GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X: y\r\n", count: 100) + "\r\n"
        #expect(parseOnce(bytes(many), .default, HeadParser.parseRequestHead).error == .tooManyFields)
    }

    @Test("parser accepts a head of exactly maxHeadSize bytes and rejects one byte more")
    func headSizeBoundary() {
        var limits = HTTP1Limits()
        limits.maxHeadSize = 40
        let exact = "GET / HTTP/1.1\r\nHost: a\r\nX: 12345678\r\n\r\n"  // 40 bytes
        #expect(exact.utf8.count == 40)
        #expect(request(exact, limits: limits).head != nil)
        #expect(request("GET / HTTP/1.1\r\nHost: a\r\nX: 123456789\r\n\r\n", limits: limits).error == .headTooLarge)
        // Leading empty lines are not part of the head.
        #expect(request("\r\n" + exact, limits: limits).head != nil)
    }

    @Test("parser rejects a head over the limit before its end arrives")
    func headTooLargeWithoutEnd() {
        var limits = HTTP1Limits()
        limits.maxHeadSize = 64
        let text = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 60)
        #expect(request(text, limits: limits).error == .headTooLarge)
        let big = bytes("GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X-Long: 0123456789\r\n", count: 98))
        #expect(parseOnce(big + bytes("X: 1"), .default, HeadParser.parseRequestHead) == .needMore)
        let huge = bytes("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 70_000))
        #expect(parseOnce(huge, .default, HeadParser.parseRequestHead).error == .headTooLarge)
    }

    @Test("parser waits for more bytes on every proper prefix of a valid head")
    func prefixesNeedMore() {
        let text = bytes("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n")
        for end in 0..<text.count {
            #expect(parseOnce(Array(text[..<end]), .default, HeadParser.parseRequestHead) == .needMore)
        }
    }
}
}
