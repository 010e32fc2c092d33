/// How long a granted token may be used.
enum TokenLifetime {
    /// `expires_in` (RFC 6749 §5.1); else the JWT's `exp`, measured from its `iat` when present so
    /// a skewed server clock changes nothing, else from our wall clock; else `defaultLifetime`.
    static func of(_ grant: TokenGrant, defaultLifetime: Duration, now: Double) -> Result<Duration, TokenError> {
        var lifetime = defaultLifetime
        if let expiresIn = grant.expiresIn {
            lifetime = expiresIn
        } else if let exp = grant.expiry {
            let from = grant.issuedAt ?? now
            // Already past (or NaN): zero, reported below.
            lifetime = duration(seconds: exp - from) ?? .zero
        }
        guard lifetime > .zero else {
            return .failure(.invalidResponse("token is already expired"))
        }
        guard lifetime >= minimum else {
            return .failure(.invalidResponse("token lifetime of \(lifetime) is too short to use (at least \(minimum))"))
        }
        return .success(min(lifetime, maximum))
    }

    /// Shortest lifetime we take a server at. A token of a few milliseconds would be due again at
    /// once and the refresh timer would ask the token endpoint hundreds of times a second; refused,
    /// it goes through the failure backoff instead.
    static let minimum: Duration = .seconds(1)

    /// Longest lifetime we take a server at: a token is fetched again at least this often.
    /// It also keeps absurd values (`1e300`, a JWT `exp` in the year 10^20) inside `Duration`.
    static let maximum: Duration = .seconds(86_400)

    /// A positive, finite number of seconds as a lifetime, capped at `maximum`; nil otherwise.
    static func duration(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds > 0 else { return nil }
        return .milliseconds(Int64(min(seconds, Double(maximum.components.seconds)) * 1000))
    }
}
