/// How long a granted token may be used.
enum TokenLifetime {
    /// Where a lifetime came from, for the log line that announces the token.
    enum Source: String, Sendable {
        case expiresIn = "expires_in"
        case jwtExp = "jwt_exp"
        case defaultLifetime = "default_lifetime"
    }

    /// `expires_in` (RFC 6749 §5.1), unless the JWT's `exp` comes earlier: the resource server
    /// judges the token by `exp`, so the earlier of the two wins. `exp` is measured from the
    /// server's clock at the time of the answer (its `Date` header, else the JWT's `iat`, else
    /// ours), so a skewed server clock neither shortens nor stretches the token. Without either,
    /// `defaultLifetime`. A token whose `exp` has passed is refused.
    static func of(_ grant: TokenGrant, defaultLifetime: Duration, now: Double) -> Result<(Duration, Source), TokenError> {
        var lifetime = defaultLifetime
        var source = Source.defaultLifetime
        if let expiresIn = grant.expiresIn {
            (lifetime, source) = (expiresIn, .expiresIn)
        }
        if let exp = grant.expiry {
            let serverNow = grant.serverDate ?? grant.issuedAt ?? now
            // Already past (or NaN): zero, refused below.
            let byExp = duration(seconds: exp - serverNow) ?? .zero
            if grant.expiresIn == nil || byExp < lifetime {
                (lifetime, source) = (byExp, .jwtExp)
            }
        }
        guard lifetime > .zero else {
            return .failure(.invalidResponse("token is already expired (its exp has passed)"))
        }
        guard lifetime >= minimum else {
            return .failure(.invalidResponse("token lifetime of \(lifetime) is too short to use (at least \(minimum))"))
        }
        return .success((min(lifetime, maximum), source))
    }

    /// Shortest lifetime we take a server at (`TokenConfig.minimumLifetime`).
    static let minimum = TokenConfig.minimumLifetime

    /// Longest lifetime we take a server at: a token is fetched again at least this often.
    /// It also keeps absurd values (`1e300`, a JWT `exp` in the year 10^20) inside `Duration`.
    static let maximum: Duration = .seconds(86_400)

    /// A positive, finite number of seconds as a lifetime, capped at `maximum`; nil otherwise.
    static func duration(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds > 0 else { return nil }
        return .milliseconds(Int64(min(seconds, Double(maximum.components.seconds)) * 1000))
    }
}
