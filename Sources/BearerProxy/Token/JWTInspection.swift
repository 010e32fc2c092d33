import Foundation

/// The header and claims of a JWT, decoded without checking anything: for timing (`exp`, `iat`)
/// and for showing an operator what a provider issued. Nothing read here is trusted.
struct JWTInspection {
    var header: [String: Any]
    var claims: [String: Any]

    /// nil when `token` is not three dot-separated parts with JSON objects in the first two.
    init?(_ token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = Base64URL.decode(parts[0]), let claimBytes = Base64URL.decode(parts[1]),
              let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any],
              let claims = (try? JSONSerialization.jsonObject(with: Data(claimBytes))) as? [String: Any] else {
            return nil
        }
        self.header = header
        self.claims = claims
    }

    /// A numeric claim such as `exp` or `iat` (RFC 7519 §2 NumericDate).
    func number(_ name: String) -> Double? {
        (claims[name] as? NSNumber)?.doubleValue
    }

    /// Header or claims as sorted, compact JSON text for display.
    static func text(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
