import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("RequestTarget")
struct RequestTargetTests {
    func valid(_ method: String, _ target: String) -> Bool {
        let line = bytes(method + " " + target)
        return line.withUnsafeBytes { buffer in
            RequestTarget.isValid(buffer, method: 0..<method.utf8.count, target: (method.utf8.count + 1)..<line.count)
        }
    }

    @Test("origin-form is for every method but CONNECT (RFC 9112 §3.2.1)")
    func originForm() {
        #expect(valid("GET", "/"))
        #expect(valid("POST", "/a/b?c=d&e=%20"))
        #expect(!valid("CONNECT", "/"))
    }

    @Test("absolute-form needs a scheme (RFC 9112 §3.2.2)")
    func absoluteForm() {
        #expect(valid("GET", "https://example.com/x"))
        #expect(valid("GET", "a+b-c.d:x"))
        #expect(!valid("GET", "https:"))
        #expect(!valid("GET", "1ttp://a"))
        #expect(!valid("GET", "example.com"))
    }

    @Test("authority-form is host:port, only for CONNECT (RFC 9112 §3.2.3)")
    func authorityForm() {
        #expect(valid("CONNECT", "example.com:443"))
        #expect(valid("CONNECT", "[2001:db8::1]:443"))
        #expect(!valid("CONNECT", "example.com"))
        #expect(!valid("CONNECT", "example.com:"))
        #expect(!valid("CONNECT", ":443"))
        #expect(!valid("CONNECT", "a@b:443"))
        #expect(!valid("CONNECT", "a:443/x"))
    }

    @Test("asterisk-form is only for OPTIONS (RFC 9112 §3.2.4)")
    func asteriskForm() {
        #expect(valid("OPTIONS", "*"))
        #expect(!valid("GET", "*"))
        #expect(!valid("OPTIONS", "**"))
    }
}
}
