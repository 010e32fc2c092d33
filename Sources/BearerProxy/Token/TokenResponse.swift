/// A successful token endpoint answer (RFC 6749 §5.1), validated.
struct TokenGrant: Sendable {
    var accessToken: String
    var expiresIn: Duration?
    var scope: String?
    /// The JWT's `exp` and `iat` (seconds since 1970) when the token is a JWT: timing only.
    var expiry: Double?
    var issuedAt: Double?
    /// The answer's `Date` header (seconds since 1970), only to notice clock skew.
    var serverDate: Double?

    var description: String { "TokenGrant(<redacted>)" }

    /// Parses the JSON body of a 200 answer. Rejects anything that cannot safely become a bearer header.
    static func parse(_ body: [UInt8]) throws(TokenError) -> TokenGrant {
        guard let json = (try? JSONValue.parse(body))?.object else {
            throw .invalidResponse("body is not a JSON object")
        }
        guard let token = json["access_token"]?.string, !token.isEmpty else {
            throw .invalidResponse("no access_token")
        }
        // RFC 6749 §7.1 / RFC 6750: we only know how to present bearer tokens.
        if let type = json["token_type"]?.string, type.lowercased() != "bearer" {
            throw .invalidResponse("token_type is \"\(printable(type, limit: 32))\", not Bearer")
        }
        guard AccessToken.isValidBearerValue(token) else {
            throw .invalidResponse("access_token contains characters not allowed in a bearer header (RFC 6750 §2.1)")
        }
        var expiresIn: Duration?
        switch json["expires_in"] {
        case .number(let seconds):
            expiresIn = TokenLifetime.duration(seconds: seconds)
        case .string(let text):
            // Some servers send the number as a string.
            expiresIn = Double(text).flatMap(TokenLifetime.duration(seconds:))
        default:
            break
        }
        let jwt = JWTInspection(token)
        return TokenGrant(accessToken: token, expiresIn: expiresIn, scope: json["scope"]?.string,
                          expiry: jwt?.number("exp"), issuedAt: jwt?.number("iat"))
    }

    /// RFC 6749 §5.2 error fields from a non-200 answer, when the body has them.
    static func parseError(_ body: [UInt8]) -> (error: String?, description: String?) {
        guard let json = (try? JSONValue.parse(body))?.object else {
            return (nil, nil)
        }
        let error = json["error"]?.string.map { printable($0, limit: 100) }
        let description = json["error_description"]?.string.map { printable($0, limit: 300) }
        return (error, description)
    }

    /// The server's text shortened to `limit` characters, for a log line: control characters (a
    /// CR or LF above all, which would start a forged line in the text log) and line separators
    /// become "?". RFC 6749 §5.2 allows none of them in `error` or `error_description`.
    static func printable(_ text: String, limit: Int) -> String {
        let scalars = String(text.prefix(limit)).unicodeScalars.map { TextLogHandler.needsEscape($0) ? "?" : $0 }
        return String(String.UnicodeScalarView(scalars))
    }
}
