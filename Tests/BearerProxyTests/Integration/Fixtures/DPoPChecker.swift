@testable import BearerProxy
import BearerSync
import BearerTLS
import Foundation
import Synchronization

/// Checks DPoP proofs (RFC 9449 §4.3) as a server does, field by field, with the public key of
/// the proxy's `dpop.key_file`: the signature, `typ`, `alg`, a `jwk` with no private part,
/// `htm`, `htu`, a recent `iat`, a `jti` never seen before, `ath` when a token comes with it,
/// and the nonce it handed out, when it asks for one.
final class DPoPChecker: Sendable {
    private let verifier: JWSVerifier
    private let algorithm: JWSAlgorithm
    private let seen = Locked<Set<String>>([])
    /// The nonce demanded (nil: none), and how many proofs lacked it.
    let nonce = Locked<String?>(nil)
    let missingNonce = Atomic<Int>(0)
    /// Every proof accepted, as its claims.
    let accepted = Locked<[[String: JSONValue]]>([])

    init(publicKeyPEM: String, algorithm: JWSAlgorithm) throws {
        verifier = try JWSVerifier(publicKeyPEM: publicKeyPEM)
        self.algorithm = algorithm
    }

    enum Outcome: Equatable {
        case accepted
        case needsNonce
        case refused(String)
    }

    /// Checks the one `DPoP` field of `request`, made for `method` and `url`, with `token` if given.
    func check(_ request: LocalRequest, method: String, url: String, token: String?) -> Outcome {
        let proofs = request.values(of: "dpop")
        guard proofs.count == 1, let proof = proofs.first else { return .refused("\(proofs.count) DPoP fields") }
        let parts = proof.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let signature = Base64URL.decode(parts[2]), let jwt = JWTInspection(proof) else {
            return .refused("malformed proof")
        }
        guard verifier.verify(signature, of: Array("\(parts[0]).\(parts[1])".utf8), algorithm: algorithm) else { return .refused("bad signature") }
        guard jwt.header["typ"]?.string == "dpop+jwt", jwt.header["alg"]?.string == algorithm.rawValue else { return .refused("bad typ/alg") }
        guard let jwk = jwt.header["jwk"]?.object, jwk["d"] == nil else { return .refused("bad jwk") }
        guard jwt.claims["htm"]?.string == method else { return .refused("htm \(jwt.claims["htm"]?.string ?? "-") is not \(method)") }
        guard jwt.claims["htu"]?.string == url else { return .refused("htu \(jwt.claims["htu"]?.string ?? "-") is not \(url)") }
        guard let iat = jwt.number("iat"), abs(iat - Date().timeIntervalSince1970) < 60 else { return .refused("iat not recent") }
        if let token {
            guard jwt.claims["ath"]?.string == Base64URL.encode(CryptoPrimitives.sha256(Array(token.utf8))) else { return .refused("bad ath") }
        }
        if let wanted = nonce.withLock({ $0 }), jwt.claims["nonce"]?.string != wanted {
            missingNonce.add(1, ordering: .relaxed)
            return .needsNonce
        }
        guard let jti = jwt.claims["jti"]?.string, seen.withLock({ $0.insert(jti).inserted }) else { return .refused("replayed jti") }
        accepted.withLock { $0.append(jwt.claims) }
        return .accepted
    }
}
