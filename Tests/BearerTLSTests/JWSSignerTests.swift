import BearerTLS
import Dispatch
import Foundation
import Synchronization
import Testing

@Suite("JWS signer: one set-up context, copied per signature")
struct JWSSignerTests {
    static let rsa = try! JWSSigningKey.generate(.rsa)
    static let ec = try! JWSSigningKey.generate(.ecP256)

    @Test("every signature verifies, for each algorithm, also when made from several threads at once",
          arguments: [JWSAlgorithm.es256, .rs256, .ps256])
    func signsConcurrently(algorithm: JWSAlgorithm) throws {
        let key = algorithm == .es256 ? Self.ec : Self.rsa
        let signer = try JWSSigner(key: key, algorithm: algorithm)
        let verifier = try JWSVerifier(publicKeyPEM: key.publicKeyPEM())
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 64) { index in
            let input = Array("header.payload-\(index)".utf8)
            guard let signature = try? signer.sign(input), verifier.verify(signature, of: input, algorithm: algorithm),
                  !verifier.verify(signature, of: input + [0x2E], algorithm: algorithm) else {
                failures.add(1, ordering: .relaxed)
                return
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        if algorithm == .rs256 {
            // RS256 is deterministic: the copied context signs as a fresh one does.
            #expect(try signer.sign(Array("x".utf8)) == key.sign(Array("x".utf8), algorithm: .rs256))
        }
    }

    @Test("a key that does not fit the algorithm is refused at set-up")
    func mismatch() {
        #expect(throws: TLSError.self) { try JWSSigner(key: Self.ec, algorithm: .rs256) }
    }
}
