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
            lifetime = .milliseconds(Int64(((exp - from) * 1000).rounded()))
        }
        guard lifetime > .zero else {
            return .failure(.invalidResponse("token is already expired"))
        }
        return .success(lifetime)
    }
}
