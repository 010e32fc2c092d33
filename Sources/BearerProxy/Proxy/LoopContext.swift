import Logging
import Synchronization

/// Settings every session reads; derived once from the configuration.
struct SessionSettings: Sendable {
    var httpLimits: HTTP1Limits
    /// Upstream responses may carry larger heads than we accept from clients (cookies, CSPs).
    var upstreamHTTPLimits: HTTP1Limits
    var headerTimeout: LoopTimeout
    var idleTimeout: LoopTimeout
    var bodyTimeout: LoopTimeout
    /// Silence both ways after which a WebSocket tunnel is closed (timeouts.tunnel_idle).
    var tunnelIdleTimeout = LoopTimeout(TimeoutsConfig.defaults.tunnelIdle)
    /// Largest request body accepted; nil: no limit.
    var maxBodySize: UInt64?
    var maxConnections = LimitsConfig.defaultMaxConnections
}

/// One route as the sessions of one loop use it: its upstream pool, its profile's token provider
/// (shared with every route that names the profile), how heads are rewritten for it, and its own
/// upstream settings.
/// @unchecked Sendable: the pool and the token cache are touched only on its loop's queue; the
/// rest is immutable.
final class RouteContext: @unchecked Sendable {
    struct Settings: Sendable {
        var responseTimeout: LoopTimeout
        var retryUnauthorized: UpstreamConfig.RetryUnauthorized = .invalidToken
        /// Request bodies up to this size are kept for a replay after a 401 (replay_body_limit).
        var replayBodyLimit = UpstreamConfig.defaultReplayBodyLimit
    }

    /// `route` label: the route's name or index.
    let label: String
    let pool: UpstreamPool
    let tokens: TokenProvider
    /// token.dpop: the profile's proof key; every request on this route carries a proof.
    let dpop: DPoPProver?
    /// The newest `DPoP-Nonce` this route's upstream sent (RFC 9449 §8.2), shared by the route's
    /// contexts on every loop.
    let dpopNonce: DPoPNonce
    let rules: ForwardingRules
    let settings: Settings
    let metrics: RequestMetrics
    /// This loop's copy of the profile's current token (`TokenProvider.LoopCache`).
    private var tokenCache = TokenProvider.LoopCache()

    init(label: String, pool: UpstreamPool, tokens: TokenProvider, dpop: DPoPProver? = nil, dpopNonce: DPoPNonce = DPoPNonce(),
         rules: ForwardingRules, settings: Settings, metrics: RequestMetrics) {
        self.dpopNonce = dpopNonce
        self.label = label
        self.pool = pool
        self.tokens = tokens
        self.dpop = dpop
        self.rules = rules
        self.settings = settings
        self.metrics = metrics
    }

    /// The profile's token when one is ready (or the backoff's failure); nil when the caller must
    /// wait for a fetch. Most requests take it from this loop's cache, without the provider's lock.
    func tokenIfReady() -> Result<AccessToken, TokenError>? {
        tokens.tokenIfReady(cache: &tokenCache)
    }
}

/// What the sessions of one loop share for one configuration generation: the routes (each with its
/// upstream pool, token provider and rules), the settings, and the process-wide services.
///
/// A reload builds new contexts and links each old one to its `successor`; a session moves to the
/// newest context of its loop when its next request begins, so keep-alive connections take up
/// a new configuration from their next request on (see `ClientSession.adoptLatestContext`).
/// @unchecked Sendable: `successor` and the routes' pools are touched only on `loop.queue`; the
/// rest is immutable (metrics handles are thread-safe).
final class LoopContext: @unchecked Sendable {
    let loop: EventLoop
    /// In the order of the file; `table` indexes them.
    let routes: [RouteContext]
    let table: RouteTable
    let hosts: HostAllowlist
    let settings: SessionSettings
    let logger: Logger
    let connections: ConnectionCounter
    let metrics: ProxyMetrics
    /// Access log lines (`request`) go here; its level decides whether they are built at all.
    let accessLogger: Logger
    /// The same lines built directly (see `DirectLogLine`) when the logger's handler allows it.
    let accessLine: DirectLogLine?
    let accessLogQuery: Bool
    /// The open sessions of this loop, whatever generation they are on.
    let sessions: SessionRegistry
    /// The context that replaced this one on the same loop (set by a reload).
    var successor: LoopContext?

    init(loop: EventLoop, routes: [RouteContext], table: RouteTable, hosts: HostAllowlist,
         settings: SessionSettings, logger: Logger, connections: ConnectionCounter, sessions: SessionRegistry,
         metrics: ProxyMetrics = ProxyMetrics(), accessLog: LogConfig = .defaults) {
        self.connections = connections
        self.hosts = hosts
        self.loop = loop
        self.routes = routes
        self.table = table
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        self.sessions = sessions
        var access = logger
        access[metadataKey: "log"] = "access"
        // Access lines are info; above that level they are neither built nor written.
        if !accessLog.access { access.logLevel = .critical }
        self.accessLogger = access
        self.accessLine = DirectLogLine(logger: access, level: .info, message: "request", keys: ClientSession.accessKeys)
        self.accessLogQuery = accessLog.accessQuery
        for route in routes {
            route.pool.metrics = metrics.pool
            route.pool.routeMetrics = route.metrics
        }
    }

    /// The newest context of this loop: this one, or the last of its successors. On `loop.queue`.
    var latest: LoopContext {
        var context = self
        while let next = context.successor { context = next }
        return context
    }

    func sessionOpened(_ session: ClientSession) {
        sessions.opened(session)
        metrics.openClientConnections.increment()
    }

    func sessionClosed(_ session: ClientSession) {
        sessions.closed(session)
        metrics.openClientConnections.decrement()
    }
}

/// The open sessions of one loop, across configuration generations, so a shutdown can close the
/// idle keep-alive ones and count the rest.
/// @unchecked Sendable: every property is touched only on `loop.queue`.
final class SessionRegistry: @unchecked Sendable {
    let loop: EventLoop
    private var sessions: [ObjectIdentifier: ClientSession] = [:]

    init(loop: EventLoop) {
        self.loop = loop
    }

    var count: Int { sessions.count }

    func opened(_ session: ClientSession) {
        sessions[ObjectIdentifier(session)] = session
    }

    func closed(_ session: ClientSession) {
        sessions[ObjectIdentifier(session)] = nil
    }

    /// Closes every session that is between requests. On `loop.queue`.
    func closeIdle() {
        loop.assertOnLoop()
        for session in Array(sessions.values) { session.closeIfIdle() }
    }

    /// Cuts every session still open, each with its access line (`ClientSession.abandon`). On `loop.queue`.
    func abandonAll() {
        loop.assertOnLoop()
        for session in Array(sessions.values) { session.abandon() }
    }
}

/// Client connections open across all loops, checked by the acceptor against `limits.max_connections`.
final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)

    var current: Int { count.load(ordering: .relaxed) }

    func opened() { count.add(1, ordering: .relaxed) }
    func closed() { count.subtract(1, ordering: .relaxed) }
}
