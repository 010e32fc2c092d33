import BearerTLS

/// A JWT client assertion for `private_key_jwt` and `client_secret_jwt`
/// (RFC 7523 §2.2 and §3, OIDC Core §9).
struct ClientAssertion: Sendable {
    /// RFC 7523 §2.2: the value of `client_assertion_type`.
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// Short, so a captured assertion is soon useless; long enough for some clock skew.
    static let lifetimeSeconds: Int64 = 60

    enum Signer {
        /// HS256 with the client secret as the key (RFC 7518 §3.2, OIDC Core §9 client_secret_jwt).
        case secret(Secret)
        case key(JWSSigningKey, JWSAlgorithm)

        var algorithmName: String {
            switch self {
            case .secret: return "HS256"
            case .key(_, let algorithm): return algorithm.rawValue
            }
        }
    }

    var clientID: String
    /// RFC 7523 §3 item 3: the token endpoint URL identifies the authorization server.
    var audience: String
    var keyID: String?
    /// Seconds since 1970, whole.
    var issuedAt: Int64
    /// Unique per assertion (RFC 7523 §3 item 7), so the server can reject a replay.
    var jwtID: String

    func headerJSON(algorithm: String) -> String {
        var members: [(String, JSONText.Value)] = [("alg", .string(algorithm)), ("typ", .string("JWT"))]
        if let keyID { members.append(("kid", .string(keyID))) }
        return JSONText.object(members)
    }

    /// RFC 7523 §3: iss and sub are the client_id; aud, exp and jti are required; iat is sent too.
    var claimsJSON: String {
        JSONText.object([
            ("iss", .string(clientID)),
            ("sub", .string(clientID)),
            ("aud", .string(audience)),
            ("jti", .string(jwtID)),
            ("iat", .integer(issuedAt)),
            ("exp", .integer(issuedAt + Self.lifetimeSeconds)),
        ])
    }

    /// The compact serialization, `header.claims.signature` (RFC 7515 §7.1).
    func signed(with signer: Signer) throws(TokenError) -> String {
        let input = Base64URL.encode(Array(headerJSON(algorithm: signer.algorithmName).utf8))
            + "." + Base64URL.encode(Array(claimsJSON.utf8))
        let signature: [UInt8]
        switch signer {
        case .secret(let secret):
            signature = CryptoPrimitives.hmacSHA256(key: Array(secret.value.utf8), data: Array(input.utf8))
        case .key(let key, let algorithm):
            do {
                signature = try key.sign(Array(input.utf8), algorithm: algorithm)
            } catch {
                throw .credentials("cannot sign the client assertion: \(error.reason)")
            }
        }
        return input + "." + Base64URL.encode(signature)
    }

    /// 128 random bits, base64url: unique without coordination.
    static func newJWTID() -> String {
        Base64URL.encode(CryptoPrimitives.randomBytes(16))
    }
}
