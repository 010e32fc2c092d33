/// A bearer token ready to be injected, with the times that govern its reuse.
///
/// `description` never shows the token: it may end up in a log line.
/// A class, immutable: every request takes the current token and keeps it through its phases, and
/// passing one reference costs one reference count where a struct of four cost four.
final class AccessToken: Sendable, CustomStringConvertible {
    /// The complete field value, `Bearer <token>` (or `DPoP <token>`), as bytes ready to be copied
    /// into a request head.
    let headerValue: [UInt8]
    /// Uptime (nanoseconds) after which the token must not be used.
    let expiresAt: UInt64
    /// Uptime (nanoseconds) from which a fresh token is fetched in the background.
    let refreshAt: UInt64
    let lifetime: Duration
    /// Whether `lifetime` came from `expires_in`, the JWT's `exp` (when earlier) or the default.
    let lifetimeSource: TokenLifetime.Source
    let scope: String?
    /// A DPoP-bound token (RFC 9449): the `ath` every proof sent with it carries; nil for Bearer.
    let proofHash: String?
    /// Read from the shared cache (another replica fetched it), for the log line.
    let fromSharedCache: Bool
    /// The JWT's `jti`, for the status page (nil when the token is no JWT or has none).
    let jwtID: String?

    init(headerValue: [UInt8], expiresAt: UInt64, refreshAt: UInt64, lifetime: Duration,
         lifetimeSource: TokenLifetime.Source = .expiresIn, scope: String?, proofHash: String? = nil,
         fromSharedCache: Bool = false, jwtID: String? = nil) {
        self.headerValue = headerValue
        self.expiresAt = expiresAt
        self.refreshAt = refreshAt
        self.lifetime = lifetime
        self.lifetimeSource = lifetimeSource
        self.scope = scope
        self.proofHash = proofHash
        self.fromSharedCache = fromSharedCache
        self.jwtID = jwtID
    }

    var description: String { "AccessToken(<redacted>, lifetime: \(lifetime))" }

    /// Whether `token` can follow `Bearer ` in a header field as it is: one or more visible ASCII
    /// characters (0x21-0x7E), so no CR, LF, NUL, space, other control or non-ASCII byte can split,
    /// end or forge a field. RFC 6750 §2.1's b64token is narrower, but real providers issue tokens
    /// outside it (Salesforce's `00D…!AQ…`), and RFC 9110 §5.5 allows every visible character in
    /// a field value.
    static func isValidBearerValue(_ token: String) -> Bool {
        !token.utf8.isEmpty && token.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }
}
