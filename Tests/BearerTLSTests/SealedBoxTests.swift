@testable import BearerTLS
import Testing

@Suite("SealedBox: AES-256-GCM")
struct SealedBoxTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static let key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")

    @Test("matches the GCM specification's test case 16 (AES-256, 96-bit IV, associated data)")
    func knownAnswer() throws {
        let plaintext = Self.hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
        let aad = Self.hex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let nonce = Self.hex("cafebabefacedbaddecaf888")
        let sealed = try SealedBox.seal(plaintext, key: Self.key, associatedData: aad, nonce: nonce)
        let expected = nonce
            + Self.hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662")
            + Self.hex("76fc6ece0f4e1768cddf8853bb2d551b")
        #expect(sealed == expected)
        #expect(try SealedBox.open(sealed, key: Self.key, associatedData: aad) == plaintext)
    }

    @Test("opens what it sealed, with a fresh nonce each time, empty values included")
    func roundTrip() throws {
        for text in ["", "x", String(repeating: "token-", count: 200)] {
            let one = try SealedBox.seal(Array(text.utf8), key: Self.key, associatedData: Array("name".utf8))
            let two = try SealedBox.seal(Array(text.utf8), key: Self.key, associatedData: Array("name".utf8))
            #expect(one != two, "a new nonce for every seal")
            #expect(try SealedBox.open(one, key: Self.key, associatedData: Array("name".utf8)) == Array(text.utf8))
        }
    }

    @Test("a changed byte anywhere, another key, other associated data or a truncated value opens to nothing")
    func tamper() throws {
        let aad = Array("bearer-proxy:abc".utf8)
        let sealed = try SealedBox.seal(Array("the token".utf8), key: Self.key, associatedData: aad)
        for index in sealed.indices {
            var changed = sealed
            changed[index] ^= 0x01
            #expect(try SealedBox.open(changed, key: Self.key, associatedData: aad) == nil, "byte \(index)")
        }
        var otherKey = Self.key
        otherKey[0] ^= 0x80
        #expect(try SealedBox.open(sealed, key: otherKey, associatedData: aad) == nil)
        #expect(try SealedBox.open(sealed, key: Self.key, associatedData: Array("bearer-proxy:abd".utf8)) == nil)
        #expect(try SealedBox.open(Array(sealed.dropLast()), key: Self.key, associatedData: aad) == nil)
        #expect(try SealedBox.open(Array(sealed.prefix(27)), key: Self.key, associatedData: aad) == nil)
        #expect(throws: TLSError.self) { try SealedBox.open(sealed, key: Array(Self.key.prefix(16)), associatedData: aad) }
    }
}
