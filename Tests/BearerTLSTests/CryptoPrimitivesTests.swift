import Testing
@testable import BearerTLS

@Suite("CryptoPrimitives")
struct CryptoPrimitivesTests {
    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    @Test("hmacSHA256 matches RFC 4231 test case 2")
    func hmacRFC4231Case2() {
        let mac = CryptoPrimitives.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
        #expect(hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("hmacSHA256 accepts an empty key and empty data")
    func hmacEmpty() {
        // Well-known HMAC-SHA256("", "").
        #expect(hex(CryptoPrimitives.hmacSHA256(key: [], data: [])) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test("sha256 of abc matches FIPS 180-4 example")
    func sha256ABC() {
        #expect(hex(CryptoPrimitives.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("sha256 of empty input is the empty-string digest")
    func sha256Empty() {
        #expect(hex(CryptoPrimitives.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("randomBytes returns the requested count and differs between calls")
    func randomBytes() {
        #expect(CryptoPrimitives.randomBytes(0).isEmpty)
        let one = CryptoPrimitives.randomBytes(32)
        let two = CryptoPrimitives.randomBytes(32)
        #expect(one.count == 32)
        #expect(one != two)
    }
}
