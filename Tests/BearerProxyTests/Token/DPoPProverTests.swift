import BearerTLS
import Foundation
import Testing
@testable import BearerProxy

@Suite("DPoP proofs (RFC 9449)")
struct DPoPProverTests {
    static func parts(_ proof: String) throws -> (header: [String: JSONValue], claims: [String: JSONValue], input: [UInt8], signature: [UInt8]) {
        let pieces = proof.split(separator: ".", omittingEmptySubsequences: false)
        try #require(pieces.count == 3)
        let jwt = try #require(JWTInspection(proof))
        return (jwt.header, jwt.claims, Array("\(pieces[0]).\(pieces[1])".utf8), try #require(Base64URL.decode(pieces[2])))
    }

    @Test("a proof has typ dpop+jwt, the public jwk, htm, htu without query, iat, a fresh jti, ath and nonce; its signature verifies",
          arguments: [JWSAlgorithm.es256, .rs256, .ps256])
    func proof(algorithm: JWSAlgorithm) throws {
        let key = try JWSSigningKey.generate(algorithm == .es256 ? .ecP256 : .rsa)
        let prover = try DPoPProver(key: key, algorithm: algorithm)
        let hash = DPoPProver.accessTokenHash("tok-1")
        let proof = try prover.proof(method: "GET", url: "https://api.example.com:8443/v2/items?x=1#f", accessTokenHash: hash,
                                     nonce: "n-1", now: 1_700_000_000.9)
        let (header, claims, input, signature) = try Self.parts(proof)
        #expect(header["typ"]?.string == "dpop+jwt")
        #expect(header["alg"]?.string == algorithm.rawValue)
        let jwk = try #require(header["jwk"]?.object)
        #expect(jwk["kty"]?.string == (algorithm == .es256 ? "EC" : "RSA"))
        #expect(jwk["d"] == nil && jwk["p"] == nil, "never the private key")
        if algorithm == .es256 {
            #expect(jwk["crv"]?.string == "P-256")
            #expect(Base64URL.decode(Substring(jwk["x"]?.string ?? ""))?.count == 32)
            #expect(Base64URL.decode(Substring(jwk["y"]?.string ?? ""))?.count == 32)
        } else {
            #expect(jwk["e"]?.string == "AQAB")
            #expect(Base64URL.decode(Substring(jwk["n"]?.string ?? ""))?.count == 256)
        }
        #expect(claims["htm"]?.string == "GET")
        #expect(claims["htu"]?.string == "https://api.example.com:8443/v2/items")
        #expect(claims["iat"]?.number == 1_700_000_000)
        #expect(claims["ath"]?.string == Base64URL.encode(CryptoPrimitives.sha256(Array("tok-1".utf8))))
        #expect(claims["nonce"]?.string == "n-1")
        #expect((claims["jti"]?.string?.count ?? 0) >= 16)
        let verifier = try JWSVerifier(publicKeyPEM: key.publicKeyPEM())
        #expect(verifier.verify(signature, of: input, algorithm: algorithm))
        let again = try Self.parts(prover.proof(method: "GET", url: "https://api.example.com/", now: 1_700_000_000))
        #expect(again.claims["jti"]?.string != claims["jti"]?.string, "a new jti for every proof")
        #expect(again.claims["ath"] == nil && again.claims["nonce"] == nil)
    }

    @Test("a server's nonce is used only when it is 1*NQCHAR (RFC 9449 §8.1)")
    func nonces() {
        #expect(DPoPProver.isUsableNonce("eyJ7S_zG.eyJH0-Z.HX4w-7v"))
        for bad in ["", "a b", "quote\"", "back\\slash", "new\nline", "é", String(repeating: "n", count: 513)] {
            #expect(!DPoPProver.isUsableNonce(bad), "\(bad.debugDescription)")
        }
    }

    @Test("with token.dpop a DPoP answer is taken and a Bearer one refused; without it, a DPoP answer is refused with a hint")
    func tokenType() throws {
        let dpop = Array(#"{"access_token":"t","token_type":"DPoP","expires_in":60}"#.utf8)
        let bearer = Array(#"{"access_token":"t","token_type":"Bearer","expires_in":60}"#.utf8)
        #expect(try TokenGrant.parse(dpop, dpop: true).isDPoP)
        #expect(throws: TokenError.self) { try TokenGrant.parse(bearer, dpop: true) }
        do {
            _ = try TokenGrant.parse(bearer, dpop: true)
        } catch {
            #expect(error.description.contains("not DPoP: it did not bind the token to the proxy's key"))
            #expect(error.kind == .configuration)
        }
        do {
            _ = try TokenGrant.parse(dpop)
            Issue.record("a DPoP token was taken as Bearer")
        } catch {
            #expect(error.description.contains("(a DPoP-bound token: set token.dpop)"))
        }
    }

    @Test("the token request carries a proof for POST and the endpoint's URL, with the endpoint's nonce once it gave one")
    func tokenRequest() throws {
        let key = try JWSSigningKey.generate(.ecP256)
        let prover = try DPoPProver(key: key, algorithm: .es256)
        let endpoint = EndpointURL(scheme: "https", host: "auth.example.com", port: 443, path: "/oauth2/token?tenant=a")
        let bytes = try TokenRequest.build(.init(clientID: "c", authMethod: .clientSecretBasic, dpop: prover), endpoint: endpoint,
                                           credentials: .init(secret: Secret("s")), now: 1_700_000_000, jwtID: "j")
        let text = String(decoding: bytes, as: UTF8.self)
        let line = try #require(text.split(separator: "\r\n").first { $0.hasPrefix("DPoP: ") })
        let claims = try Self.parts(String(line.dropFirst(6))).claims
        #expect(claims["htm"]?.string == "POST")
        #expect(claims["htu"]?.string == "https://auth.example.com/oauth2/token")
        #expect(claims["ath"] == nil, "no access token yet")
        let withNonce = try TokenRequest.prepare(.init(clientID: "c", authMethod: .clientSecretBasic, dpop: prover), endpoint: endpoint,
                                                 credentials: .init(secret: Secret("s")), now: 1_700_000_000, jwtID: "j", dpopNonce: "as-nonce")
        let nonceLine = try #require(String(decoding: withNonce.bytes, as: UTF8.self).split(separator: "\r\n").first { $0.hasPrefix("DPoP: ") })
        #expect(try Self.parts(String(nonceLine.dropFirst(6))).claims["nonce"]?.string == "as-nonce")
    }

    @Test("token.dpop loads key_file and algorithm (ES256 by default); a key that does not fit is an error")
    func config() throws {
        let base = ConfigFixture.minimal
        #expect(try ConfigFixture.parse(base + "\n  dpop: {}").token.dpop == DPoPConfig(keyFile: nil, algorithm: .es256))
        #expect(try ConfigFixture.parse(base + "\n  dpop: {algorithm: PS256}").token.dpop?.algorithm == .ps256)
        let directory = ConfigFixture.temporaryDirectory()
        ConfigFixture.write(try JWSSigningKey.generate(.ecP256).privateKeyPEM(), to: directory + "/dpop.pem")
        let loaded = try ConfigFixture.parse(base + "\n  dpop: {key_file: dpop.pem}", baseDirectory: directory).token.dpop
        #expect(loaded == DPoPConfig(keyFile: directory + "/dpop.pem", algorithm: .es256))
        #expect(ConfigFixture.error(base + "\n  dpop: {key_file: dpop.pem, algorithm: RS256}", baseDirectory: directory)?.description
            .contains("token.dpop.algorithm: RS256 does not fit the EC P-256 key in key_file") == true)
        #expect(ConfigFixture.error(base + "\n  dpop: {algorithm: HS256}")?.description.contains("token.dpop.algorithm: must be ES256, PS256 or RS256") == true)
        #expect(ConfigFixture.error(base + "\n  dpop: {key: x}")?.description.contains("token.dpop.key") == true)
    }
}
