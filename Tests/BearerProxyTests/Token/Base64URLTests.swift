@testable import BearerProxy
import Foundation
import Testing

@Suite("Base64URL")
struct Base64URLTests {
    @Test("encodes without padding in the URL alphabet and decodes with or without padding (RFC 4648 §5)")
    func roundTrip() {
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_")
        #expect(Base64URL.encode(Array("ab".utf8)) == "YWI")
        #expect(Base64URL.decode("-_-_") == [0xFB, 0xFF, 0xBF])
        #expect(Base64URL.decode("YWI") == Array("ab".utf8))
        #expect(Base64URL.decode("YWI=") == Array("ab".utf8))
        #expect(Base64URL.decode("+/+/") == [0xFB, 0xFF, 0xBF])
        #expect(Base64URL.decode("Y") == nil)
        #expect(Base64URL.decode("YW!") == nil)
        // The same as Foundation's standard base64 with the URL alphabet and no padding, every tail length.
        for count in 0..<70 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 200) }
            let foundation = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == foundation, "\(count) bytes")
        }
        for count in 0..<40 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64URL.decode(Substring(Base64URL.encode(bytes))) == bytes)
        }
    }
}
