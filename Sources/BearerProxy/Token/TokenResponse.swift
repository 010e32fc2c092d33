/// A successful token endpoint answer (RFC 6749 §5.1), validated.
/// `description` never shows the token: a grant may end up in a log line or a test failure.
struct TokenGrant: Sendable, CustomStringConvertible {
    var accessToken: String
    var expiresIn: Duration?
    var scope: String?
    /// The JWT's `exp` and `iat` (seconds since 1970) when the token is a JWT: timing only.
    var expiry: Double?
    var issuedAt: Double?
    /// The answer's `Date` header (seconds since 1970): the server's clock when it answered.
    var serverDate: Double?
    /// An `expires_in` that was sent but is no positive number of seconds (`0`, `-1`, `"soon"`),
    /// shortened for a log line; the lifetime then comes from the JWT or `default_lifetime`.
    var ignoredExpiresIn: String?
    /// `token_type: DPoP`: the token is bound to the proxy's DPoP key (RFC 9449 §5).
    var isDPoP = false
    /// The token came from the shared cache, where another replica stored it: the lifetime it was
    /// granted with, and how much of it was left when it was read.
    var shared: Shared?

    struct Shared: Sendable {
        var lifetime: Duration
        var source: TokenLifetime.Source
        var remaining: Duration
    }

    var description: String { "TokenGrant(<redacted>)" }

    /// Parses the JSON body of a 200 answer. Rejects anything that cannot safely become a bearer
    /// header. Server text in errors passes through `scrubber` before anything else sees it.
    /// `dpop`: the request carried a DPoP proof, and only a DPoP-bound token will do.
    static func parse(_ body: [UInt8], scrubber: EchoScrubber = .none, dpop: Bool = false) throws(TokenError) -> TokenGrant {
        guard let json = (try? JSONValue.parse(body))?.object else {
            throw .invalidResponse("body is not a JSON object")
        }
        let token = json["access_token"]?.string
        if token?.isEmpty ?? true, let error = json["error"]?.string {
            // RFC 6749 §5.2's error answer with the wrong status; golang.org/x/oauth2 reads it so too.
            throw .rejected(status: 200, error: printable(error, limit: 100, scrubber),
                            errorDescription: json["error_description"]?.string.map { printable($0, limit: 300, scrubber) })
        }
        guard let token else {
            throw .invalidResponse("no access_token")
        }
        guard !token.isEmpty else {
            throw .unusable("access_token is empty")
        }
        // RFC 6749 §7.1: a token is presented as its type says. Bearer (RFC 6750) without
        // token.dpop; DPoP (RFC 9449 §5) with it, where a Bearer answer means the server did not
        // bind the token, and every resource server that requires DPoP would refuse it. Google's
        // `N_A` and others cannot be presented at all.
        let type = json["token_type"]?.string
        if dpop {
            guard let type, type.lowercased() == "dpop" else {
                throw .unusable("token.dpop is set but the token endpoint answered token_type \"\(printable(type ?? "(none)", limit: 32, scrubber))\", "
                    + "not DPoP: it did not bind the token to the proxy's key (RFC 9449 §5); check that this client is set up for DPoP")
            }
        } else if let type, type.lowercased() != "bearer" {
            let hint = type.lowercased() == "dpop" ? " (a DPoP-bound token: set token.dpop)" : ""
            throw .unusable("token_type is \"\(printable(type, limit: 32, scrubber))\", not Bearer\(hint)")
        }
        guard AccessToken.isValidBearerValue(token) else {
            throw .unusable("access_token contains a space, a control or a non-ASCII character, which a header field cannot carry")
        }
        var expiresIn: Duration?
        var ignored: String?
        switch json["expires_in"] {
        case .number(let seconds):
            expiresIn = TokenLifetime.duration(seconds: seconds)
            if expiresIn == nil { ignored = printable(JSONValue.number(seconds).sortedText, limit: 32, scrubber) }
        case .string(let text):
            // Some servers send the number as a string.
            expiresIn = Double(text).flatMap(TokenLifetime.duration(seconds:))
            if expiresIn == nil { ignored = "\"" + printable(text, limit: 32, scrubber) + "\"" }
        case nil, .null:
            break
        case .some(let other):
            ignored = printable(other.sortedText, limit: 32, scrubber)
        }
        let jwt = JWTInspection(token)
        return TokenGrant(accessToken: token, expiresIn: expiresIn, scope: json["scope"]?.string,
                          expiry: jwt?.number("exp"), issuedAt: jwt?.number("iat"), ignoredExpiresIn: ignored, isDPoP: dpop)
    }

    /// RFC 6749 §5.2 error fields from a non-200 answer, when the body has them.
    static func parseError(_ body: [UInt8], scrubber: EchoScrubber = .none) -> (error: String?, description: String?) {
        guard let json = (try? JSONValue.parse(body))?.object else {
            return (nil, nil)
        }
        let error = json["error"]?.string.map { printable($0, limit: 100, scrubber) }
        let description = json["error_description"]?.string.map { printable($0, limit: 300, scrubber) }
        return (error, description)
    }

    /// The server's text for a log line: first every echo of our credentials is removed (before
    /// shortening, so no prefix of a secret survives a cut), then it is shortened to `limit`
    /// characters, and control characters (a CR or LF above all, which would start a forged line
    /// in the text log) and line separators become "?". RFC 6749 §5.2 allows none of them in
    /// `error` or `error_description`.
    static func printable(_ text: String, limit: Int, _ scrubber: EchoScrubber = .none) -> String {
        let scalars = String(scrubber.scrub(text).prefix(limit)).unicodeScalars.map { $0.isLineBreakingOrControl ? "?" : $0 }
        return String(String.UnicodeScalarView(scalars))
    }
}
