@testable import BearerProxy
import Testing

/// `ForwardingRules.hasDotSegment` on targets as the parser hands them over.
@Suite("Dot-segments in request paths")
struct DotSegmentTests {
    func hasDotSegment(_ target: String, method: String = "GET") throws -> Bool {
        let head = try #require(parseOnce(bytes("\(method) \(target) HTTP/1.1\r\nHost: h\r\n\r\n"), .default, HeadParser.parseRequestHead).head)
        let form = try #require(ForwardingRules.targetForm(of: head))
        return ForwardingRules.hasDotSegment(head, form: form)
    }

    @Test("dot-segments, plain, encoded once or twice, split by encoded separators or ended by ;params", arguments: [
        "/.", "/..", "/../x", "/a/./b", "/a/..", "/..?x", "/%2e", "/.%2E", "/%2e%2e/x", "/%252e%252E/x",
        "/%2e%2e%2fx", "/a%2F..%2Fb", "/..%5cx", "/x/..\\x", "/..;/x", "/a/..;jsessionid=1/b", "/.;x",
        "http://h/a/../b", "HTTPS://h:8443/..", "http://h/%2e%2e",
    ])
    func refused(target: String) throws {
        #expect(try hasDotSegment(target))
    }

    @Test("dots inside a segment, after ;, in the query, or with no path at all", arguments: [
        "/", "//", "/a", "/...", "/.well-known/x", "/a..b", "/x..", "/%2", "/a%", "/..%", "/%2e%2e%2e",
        "/a;..", "/x;p=..", "/%2e%41", "/a%2fb", "/q?p=../..", "/%25", "/%252", "http://h", "http://h?x=/..",
        "http://h/?x=/../", "http://h/a.b",
    ])
    func passed(target: String) throws {
        #expect(try !hasDotSegment(target))
    }

    @Test("OPTIONS * has no path")
    func asterisk() throws {
        #expect(try !hasDotSegment("*", method: "OPTIONS"))
    }
}
