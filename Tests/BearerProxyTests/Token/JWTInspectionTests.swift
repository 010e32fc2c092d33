@testable import BearerProxy
import Testing

@Suite("JWTInspection")
struct JWTInspectionTests {
    @Test("header and claims of a three-part token are read; anything else is not a JWT")
    func inspects() {
        let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0." + Base64URL.encode(Array(#"{"sub":"my-app","exp":1700000300}"#.utf8)) + ".c2ln"
        let jwt = JWTInspection(token)
        #expect(jwt?.header["alg"]?.string == "RS256")
        #expect(jwt?.number("exp") == 1_700_000_300)
        #expect(jwt.map { JWTInspection.text($0.claims) } == #"{"exp":1700000300,"sub":"my-app"}"#)
        for opaque in ["abc", "a.b", "a.b.c.d", "e30.W10.x", "W10.e30.x", "!!!.e30.x", "e30.e30"] {
            #expect(JWTInspection(opaque) == nil, "\(opaque)")
        }
        #expect(JWTInspection("e30.e30.") != nil)
    }
}
