/// A bearer token ready to be injected, with the times that govern its reuse.
///
/// `description` never shows the token: it may end up in a log line.
struct AccessToken: Sendable, CustomStringConvertible {
    /// The complete field value, `Bearer <token>` (or `DPoP <token>`), as bytes ready to be copied
    /// into a request head.
    let headerValue: [UInt8]
    /// Uptime (nanoseconds) after which the token must not be used.
    let expiresAt: UInt64
    /// Uptime (nanoseconds) from which a fresh token is fetched in the background.
    let refreshAt: UInt64
    let lifetime: Duration
    /// Whether `lifetime` came from `expires_in`, the JWT's `exp` (when earlier) or the default.
    var lifetimeSource: TokenLifetime.Source = .expiresIn
    let scope: String?
    /// A DPoP-bound token (RFC 9449): the `ath` every proof sent with it carries; nil for Bearer.
    var proofHash: String? = nil
    /// Read from the shared cache (another replica fetched it), for the log line.
    var fromSharedCache = false
    /// The JWT's `jti`, for the status page (nil when the token is no JWT or has none).
    var jwtID: String? = nil

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
