import BearerTLS
import BearerSync

/// The newest `DPoP-Nonce` one server sent (RFC 9449 §8.2), shared by everything that sends it
/// proofs (every loop's copy of a route), so one `use_dpop_nonce` answer serves them all.
final class DPoPNonce: Sendable {
    private let value = Locked<String?>(nil)

    var current: String? { value.withLock { $0 } }

    /// Keeps `nonce` when it is one a proof can carry (`DPoPProver.isUsableNonce`).
    func update(_ nonce: String) {
        guard DPoPProver.isUsableNonce(nonce) else { return }
        value.withLock { $0 = nonce }
    }
}

/// Makes DPoP proofs (RFC 9449 §4.2) with one key: for the token request and for every upstream
/// request. The header (`typ`, `alg`, the public `jwk`) is the same for every proof, so it is
/// encoded once; a proof then costs a small JSON payload and one signature, made on the caller's
/// loop (it blocks no longer than the signature itself takes).
///
/// The key lives as long as the profile: a token is bound to it, so a reload that keeps the
/// profile keeps the prover.
final class DPoPProver: Sendable {
    let algorithm: JWSAlgorithm
    private let signer: JWSSigner
    /// base64url of the JOSE header, and the "." after it.
    private let encodedHeader: String
    /// The public key as a JWK in RFC 7638's canonical form (its members sorted, no spaces):
    /// what identifies the key a token is bound to.
    let publicJWK: String

    init(key: JWSSigningKey, algorithm: JWSAlgorithm) throws(TLSError) {
        signer = try JWSSigner(key: key, algorithm: algorithm)
        self.algorithm = algorithm
        let jwk: String
        switch try key.publicParameters() {
        case .ec(let x, let y):
            jwk = #"{"crv":"P-256","kty":"EC","x":"\#(Base64URL.encode(x))","y":"\#(Base64URL.encode(y))"}"#
        case .rsa(let n, let e):
            jwk = #"{"e":"\#(Base64URL.encode(e))","kty":"RSA","n":"\#(Base64URL.encode(n))"}"#
        }
        publicJWK = jwk
        let header = #"{"alg":"\#(algorithm.rawValue)","jwk":\#(jwk),"typ":"dpop+jwt"}"#
        encodedHeader = Base64URL.encode(Array(header.utf8)) + "."
    }

    /// The key in `key_file`, or a new one kept in memory only.
    static func make(_ config: DPoPConfig) throws(TokenError) -> DPoPProver {
        do {
            let key: JWSSigningKey
            if let path = config.keyFile {
                switch ConfigFiles.contents(of: path, limit: SizeLimits.pemFile) {
                case .failure(let failure): throw TokenError.credentials("dpop.key_file: \(failure.message)")
                case .success(let contents): key = try JWSSigningKey(pem: String(decoding: contents, as: UTF8.self))
                }
            } else {
                key = try JWSSigningKey.generate(config.algorithm == .es256 ? .ecP256 : .rsa)
            }
            return try DPoPProver(key: key, algorithm: config.algorithm)
        } catch let error as TokenError {
            throw error
        } catch {
            throw .credentials("cannot set up the DPoP key: \(error)")
        }
    }

    /// A proof for one request: `method` and `url` as sent (RFC 9449 §4.2: `htu` without query
    /// and fragment), `accessToken`'s hash as `ath` when the request carries one, the server's
    /// newest `nonce` when it gave one.
    func proof(method: String, url: String, accessTokenHash: String? = nil, nonce: String? = nil, now: Double) throws(TokenError) -> String {
        var payload = #"{"htm":"\#(JSONText.escaped(method))","htu":"\#(JSONText.escaped(Self.withoutQuery(url)))","iat":\#(Int64(now.rounded(.down))),"jti":"\#(ClientAssertion.newJWTID())""#
        if let accessTokenHash { payload += #","ath":"\#(accessTokenHash)""# }
        if let nonce { payload += #","nonce":"\#(JSONText.escaped(nonce))""# }
        payload += "}"
        let input = encodedHeader + Base64URL.encode(Array(payload.utf8))
        do {
            return input + "." + Base64URL.encode(try signer.sign(Array(input.utf8)))
        } catch {
            throw .credentials("cannot sign the DPoP proof: \(error.reason)")
        }
    }

    /// `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the access token's ASCII.
    static func accessTokenHash(_ token: String) -> String {
        Base64URL.encode(CryptoPrimitives.sha256(Array(token.utf8)))
    }

    /// RFC 9449 §8.1: a nonce is 1*NQCHAR (visible ASCII except `"` and `\`), so it can be put in
    /// the proof's JSON and a header as it is; anything else from a server is ignored.
    static func isUsableNonce(_ nonce: String) -> Bool {
        !nonce.isEmpty && nonce.utf8.count <= 512
            && nonce.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    static func withoutQuery(_ url: String) -> String {
        guard let end = url.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) else { return url }
        return String(url[..<end])
    }
}
