/// The JWS signature algorithms bearer-proxy signs client assertions with (RFC 7518 §3.1).
public enum JWSAlgorithm: String, Sendable, Equatable, CaseIterable {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    case rs256 = "RS256"
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt length 32 (RFC 7518 §3.5).
    case ps256 = "PS256"
    /// ECDSA on P-256 with SHA-256, signature as the 64-byte R || S (RFC 7518 §3.4).
    case es256 = "ES256"
}
