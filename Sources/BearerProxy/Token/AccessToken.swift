/// A bearer token ready to be injected, with the times that govern its reuse.
///
/// `description` never shows the token: it may end up in a log line.
struct AccessToken: Sendable, CustomStringConvertible {
    /// The complete field value, `Bearer <token>`, as bytes ready to be copied into a request head.
    let headerValue: [UInt8]
    /// Uptime (nanoseconds) after which the token must not be used.
    let expiresAt: UInt64
    /// Uptime (nanoseconds) from which a fresh token is fetched in the background.
    let refreshAt: UInt64
    let lifetime: Duration
    let scope: String?

    var description: String { "AccessToken(<redacted>, lifetime: \(lifetime))" }

    /// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
    /// Anything else (a CR, LF or space above all) could split or forge header fields.
    static func isValidBearerValue(_ token: String) -> Bool {
        var sawPadding = false
        var count = 0
        for byte in token.utf8 {
            count += 1
            if byte == UInt8(ascii: "=") {
                sawPadding = true
                continue
            }
            if sawPadding { return false }
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
                 UInt8(ascii: "+"), UInt8(ascii: "/"):
                continue
            default:
                return false
            }
        }
        return count > 0 && token.utf8.first != UInt8(ascii: "=")
    }
}
