/// What the status page shows besides the metrics, gathered by whoever runs the admin listener
/// (Admin knows nothing of Proxy or Token). Never a secret, a token, an assertion, a client's
/// `Authorization` or a query string: only states, times, counts, reasons and the token's `jti`.
struct StatusFacts: Sendable {
    struct Profile: Sendable {
        var name: String
        /// `valid`, `refreshing`, `fetching` (no token yet) or `failing`.
        var state: String
        var secondsLeft: Double?
        var lifetimeSeconds: Double?
        var secondsUntilRefresh: Double?
        /// Seconds since 1970.
        var lastFetchAt: Double?
        var lastFetchSucceeded: Bool?
        var lastError: String?
        /// After a failure, when the next token request may go (the backoff).
        var secondsUntilRetry: Double?
        var tokenRequests: Int
        var jwtID: String?
        var scope: String?
        /// `reachable`, `unreachable` or nil without a shared cache.
        var sharedCache: String?
    }

    struct Route: Sendable {
        /// The route's metrics label (its name or index).
        var label: String
        var upstream: String
        /// false for `none`, the requests refused before a route was chosen.
        var hasUpstream = true
    }

    struct Failure: Sendable {
        /// Milliseconds since 1970.
        var time: UInt64
        var status: Int
        var method: String
        var path: String
        var reason: String
    }

    var profiles: [Profile]
    var routes: [Route]
    var failures: [Failure]
    var generation: Int
    /// Seconds since 1970.
    var lastReloadAt: Double?
    var lastRejectedReload: (at: Double, reason: String)?
    var version: String
    var openSSL: String
    var uptimeSeconds: Double
    /// Seconds since 1970, when the facts were gathered.
    var now: Double
}
