import Testing
@testable import BearerTLS

@Suite("TLSError")
struct TLSErrorTests {
    @Test("description names the kind and the OpenSSL reason")
    func description() {
        let error = TLSError(kind: .verificationFailed, reason: "certificate verify failed: hostname mismatch")
        #expect(error.description == "TLS verificationFailed: certificate verify failed: hostname mismatch")
    }
}
