extension TokenProvider {
    /// How tokens are reused and how failures are retried. Durations, not magic numbers.
    struct Policy: Sendable {
        /// nil: min(60 s, 10% of the lifetime).
        var refreshMargin: Duration?
        /// Lifetime of a token whose answer has no expires_in and which is not a JWT with `exp`.
        var defaultLifetime: Duration
        /// Transient failures (network, 5xx, 429, malformed): backoff doubles from min to max.
        var minimumBackoff: Duration = .seconds(1)
        var maximumBackoff: Duration = .seconds(30)
        /// Configuration failures (invalid_client, ...): retried only slowly.
        var minimumConfigurationBackoff: Duration = .seconds(30)
        var maximumConfigurationBackoff: Duration = .seconds(300)
        /// A server's Retry-After is honoured up to this long.
        var maximumRetryAfter: Duration = .seconds(600)
        /// No two token requests start closer than this, whatever asks (upstream 401s, rotation):
        /// a storm of rejected requests must not become a storm of token requests.
        var minimumInterval: Duration = .seconds(5)
        /// Proactive refresh starts up to this fraction of the margin earlier, at random, so that
        /// proxies started together do not all ask at the same moment.
        var refreshJitter: Double = 0.2
        /// A `Date` header or JWT `iat` further than this from the local clock is logged once.
        var clockSkewWarning: Duration = .seconds(60)
        /// Fetch again at `refreshAt` even when no request comes (keeps readiness true when idle).
        var refreshProactively = true

        /// How long before expiry a token of `lifetime` (nanoseconds) is due for refresh, before
        /// jitter: `refreshMargin`, or min(60 s, 10% of the lifetime).
        func margin(forLifetime lifetime: UInt64) -> UInt64 {
            refreshMargin.map(TokenProvider.nanoseconds) ?? min(60_000_000_000, lifetime / 10)
        }

        /// The earliest, before expiry, that any proxy refreshes a token of `lifetime`: the margin
        /// with the most jitter, and never more than half the lifetime. A shared token with less
        /// left than this is due somewhere in the fleet, so it is not taken as fresh.
        func longestLead(forLifetime lifetime: UInt64) -> UInt64 {
            let margin = margin(forLifetime: lifetime)
            return min(margin &+ UInt64(Double(margin) * refreshJitter), lifetime / 2)
        }
    }

    /// A snapshot for readiness, `token` output and metrics.
    struct Status: Sendable {
        var hasValidToken: Bool
        var secondsUntilExpiry: Double?
        var lastFailure: String?
        /// Token requests started.
        var fetches: Int
        var fetchesSucceeded: Int = 0
        /// Failed token requests, by kind.
        var fetchesFailedTransient: Int = 0
        var fetchesFailedConfiguration: Int = 0
        /// Tokens dropped because the upstream rejected them.
        var invalidations: Int = 0
        /// For the status page: a fetch is running; the current token's refresh point, lifetime,
        /// `jti` and scope; when the last fetch ended (seconds since 1970) and how.
        var fetching = false
        var secondsUntilRefresh: Double?
        var lifetimeSeconds: Double?
        var jwtID: String?
        var scope: String?
        var lastFetchEndedAt: Double?
        var lastFetchSucceeded: Bool?
        /// After a failure: how long the backoff still holds the next attempt back.
        var secondsUntilRetry: Double?
    }

    /// What `invalidate(_:)` did, which tells the caller whether a retry can succeed.
    enum Invalidation: Sendable, Equatable {
        /// The token was dropped; a new one is being fetched. `token(on:_:)` waits for it.
        case refreshing
        /// The token is no longer the current one (already replaced or dropped): ask again.
        case alreadyReplaced
        /// The last token request is too recent (minimum interval) or the endpoint is backing off:
        /// the token is kept, a refresh is scheduled, and the caller should relay the 401.
        case tooSoon
    }

    /// Delay before the next attempt after `failures` consecutive failures ending with `error`.
    /// Exponential from the kind's minimum, capped, with "equal jitter" (half fixed, half random)
    /// so many proxies drift apart; never shorter than the server's Retry-After.
    static func backoff(after error: TokenError, failures: Int, policy: Policy, random: Double) -> Duration {
        let (low, high) = error.kind == .configuration
            ? (policy.minimumConfigurationBackoff, policy.maximumConfigurationBackoff)
            : (policy.minimumBackoff, policy.maximumBackoff)
        let exponent = min(max(failures - 1, 0), 20)
        let base = min(high, low * (1 << exponent))
        var delay = base / 2 + base / 2 * random
        if let seconds = error.serverRetryAfterSeconds {
            delay = max(delay, min(.seconds(seconds), policy.maximumRetryAfter))
        }
        return delay
    }

    /// Nanoseconds as whole seconds, rounded up: what a `Retry-After` says.
    static func wholeSecondsUp(_ nanoseconds: UInt64) -> Int {
        Int((nanoseconds + 999_999_999) / 1_000_000_000)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
