import BearerTLS
import Foundation
import Testing

@Suite("JWS signing keys (RFC 7518 §3)")
struct JWSSigningKeyTests {
    static let rsa = try! JWSSigningKey.generate(.rsa)
    static let ec = try! JWSSigningKey.generate(.ecP256)
    static let input = Array("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJteS1hcHAifQ".utf8)

    @Test("RS256 signatures verify, are deterministic and as long as the modulus")
    func rs256() throws {
        let signature = try Self.rsa.sign(Self.input, algorithm: .rs256)
        #expect(signature.count == 256)
        #expect(try Self.rsa.sign(Self.input, algorithm: .rs256) == signature)
        let verifier = try JWSVerifier(publicKeyPEM: Self.rsa.publicKeyPEM())
        #expect(verifier.verify(signature, of: Self.input, algorithm: .rs256))
        #expect(!verifier.verify(signature, of: Self.input + [0x2E], algorithm: .rs256))
        #expect(!verifier.verify(signature, of: Self.input, algorithm: .ps256))
    }

    @Test("PS256 signatures are randomized and verify with PSS, not with PKCS #1 v1.5")
    func ps256() throws {
        let one = try Self.rsa.sign(Self.input, algorithm: .ps256)
        let two = try Self.rsa.sign(Self.input, algorithm: .ps256)
        #expect(one != two)
        let verifier = try JWSVerifier(publicKeyPEM: Self.rsa.publicKeyPEM())
        #expect(verifier.verify(one, of: Self.input, algorithm: .ps256))
        #expect(!verifier.verify(one, of: Self.input, algorithm: .rs256))
    }

    @Test("ES256 signatures are the 64-byte R || S form and verify (RFC 7518 §3.4)")
    func es256() throws {
        let verifier = try JWSVerifier(publicKeyPEM: Self.ec.publicKeyPEM())
        for _ in 0..<20 {
            let signature = try Self.ec.sign(Self.input, algorithm: .es256)
            #expect(signature.count == 64)
            #expect(verifier.verify(signature, of: Self.input, algorithm: .es256))
        }
        var signature = try Self.ec.sign(Self.input, algorithm: .es256)
        signature[10] ^= 1
        #expect(!verifier.verify(signature, of: Self.input, algorithm: .es256))
        #expect(!verifier.verify(Array(signature.prefix(63)), of: Self.input, algorithm: .es256))
    }

    @Test("a key refuses algorithms of the other key type")
    func mismatchedAlgorithm() throws {
        #expect(throws: TLSError.self) { try Self.ec.sign(Self.input, algorithm: .rs256) }
        #expect(throws: TLSError.self) { try Self.rsa.sign(Self.input, algorithm: .es256) }
        #expect(Self.rsa.defaultAlgorithm == .rs256)
        #expect(Self.ec.defaultAlgorithm == .es256)
    }

    @Test("a key round-trips through PEM; garbage is refused with a configuration error")
    func pemRoundTrip() throws {
        let again = try JWSSigningKey(pem: Self.ec.privateKeyPEM())
        #expect(again.keyType == .ecP256)
        let error = try #require(throws: TLSError.self) { try JWSSigningKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
        #expect(error.kind == .configuration)
    }

    @Test("PS256 and ES256 signatures verify with the openssl command (salt length 32, MGF1 SHA-256)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func crossCheckWithOpenSSLCommand() throws {
        let directory = NSTemporaryDirectory() + "jws-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(Self.input).write(to: URL(fileURLWithPath: directory + "/input"))
        try Data(Self.rsa.publicKeyPEM().utf8).write(to: URL(fileURLWithPath: directory + "/rsa.pem"))
        try Data(Self.rsa.sign(Self.input, algorithm: .ps256)).write(to: URL(fileURLWithPath: directory + "/ps.sig"))
        #expect(try Self.openssl(["dgst", "-sha256", "-verify", directory + "/rsa.pem", "-sigopt", "rsa_padding_mode:pss",
                                  "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256",
                                  "-signature", directory + "/ps.sig", directory + "/input"]) == 0)
        try Data(Self.rsa.sign(Self.input, algorithm: .rs256)).write(to: URL(fileURLWithPath: directory + "/rs.sig"))
        #expect(try Self.openssl(["dgst", "-sha256", "-verify", directory + "/rsa.pem",
                                  "-signature", directory + "/rs.sig", directory + "/input"]) == 0)
    }

    @Test("an encrypted PEM key is refused at once instead of prompting for a password",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func encryptedKeyRefused() throws {
        let path = NSTemporaryDirectory() + "enc-\(UUID().uuidString).pem"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                  "-aes256", "-pass", "pass:secret", "-out", path]) == 0)
        let pem = try String(contentsOfFile: path, encoding: .utf8)
        #expect(pem.contains("ENCRYPTED"))
        #expect(throws: TLSError.self) { try JWSSigningKey(pem: pem) }
    }

    private static func openssl(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
