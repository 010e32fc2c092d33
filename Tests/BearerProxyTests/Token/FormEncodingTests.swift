@testable import BearerProxy
import Testing

@Suite("FormEncoding")
struct FormEncodingTests {
    @Test("decode turns + into a space and %XX into a byte, and refuses a broken escape or bytes that are not UTF-8")
    func decode() {
        #expect(FormEncoding.decode("a+b%20c%2B%3d") == "a b c+=")
        #expect(FormEncoding.decode("%C3%A9t%C3%A9") == "été")
        #expect(FormEncoding.decode("") == "")
        for broken in ["%", "%2", "%zz", "a%2", "%C3", "%FF"] {
            #expect(FormEncoding.decode(broken) == nil, "\(broken)")
        }
    }

    @Test("decode undoes encode")
    func roundTrip() {
        for text in ["client id", "s3cr3t/+=&%", "ünïcødé 😀", ""] {
            #expect(FormEncoding.decode(FormEncoding.encode(text)) == text)
        }
    }
}
