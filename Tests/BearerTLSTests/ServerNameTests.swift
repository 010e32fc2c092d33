import Testing
@testable import BearerTLS

@Suite("ServerName")
struct ServerNameTests {
    @Test("IP literals are addresses, not host names")
    func ipLiterals() throws {
        // RFC 6066 §3: literal IPv4 and IPv6 addresses are not sent as SNI.
        #expect(try ServerName("127.0.0.1") == .ipAddress("127.0.0.1"))
        #expect(try ServerName("::1") == .ipAddress("::1"))
        #expect(try ServerName("[2001:db8::1]") == .ipAddress("2001:db8::1"))
    }

    @Test("host names lose a trailing dot")
    func hostNames() throws {
        #expect(try ServerName("auth.example.com") == .host("auth.example.com"))
        #expect(try ServerName("auth.example.com.") == .host("auth.example.com"))
        #expect(try ServerName("1.2.3.4.example") == .host("1.2.3.4.example"))
    }

    @Test("empty names and embedded NULs are rejected")
    func invalid() {
        #expect(throws: TLSError.self) { _ = try ServerName("") }
        #expect(throws: TLSError.self) { _ = try ServerName(".") }
        #expect(throws: TLSError.self) { _ = try ServerName("a\u{0}b") }
    }
}
