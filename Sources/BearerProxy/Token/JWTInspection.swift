/// The header and claims of a JWT, decoded without checking anything: for timing (`exp`, `iat`)
/// and for showing an operator what a provider issued. Nothing read here is trusted.
struct JWTInspection {
    var header: [String: JSONValue]
    var claims: [String: JSONValue]

    /// nil when `token` is not three dot-separated parts with JSON objects in the first two.
    init?(_ token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = Base64URL.decode(parts[0]), let claimBytes = Base64URL.decode(parts[1]),
              let header = (try? JSONValue.parse(headerBytes))?.object,
              let claims = (try? JSONValue.parse(claimBytes))?.object else {
            return nil
        }
        self.header = header
        self.claims = claims
    }

    /// A numeric claim such as `exp` or `iat` (RFC 7519 §2 NumericDate).
    func number(_ name: String) -> Double? {
        claims[name]?.number
    }

    /// Header or claims as sorted, compact JSON text for display.
    static func text(_ object: [String: JSONValue]) -> String {
        JSONValue.object(object).sortedText
    }
}
