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

/// Client connections open across all loops, checked by the acceptor against `limits.max_connections`,
/// and on each loop, which the acceptor uses to keep the loops' shares even (`placement(acceptedOn:)`).
final class ConnectionCounter: Sendable {
    private let total = Atomic<Int>(0)
    /// Per loop index: sessions open there, plus connections handed to it and not started yet
    /// (`total` counts those too).
    private let perLoop: [LoopShare]

    /// One atomic per loop (an `Atomic` cannot live in an array itself).
    private final class LoopShare: Sendable {
        let count = Atomic<Int>(0)
    }

    /// How many more connections than the least loaded loop the accepting loop must hold before it
    /// hands a new one over. At 2, arriving connections keep the loops' shares within two of each
    /// other, and a hand-off always narrows the gap (at 1 it would also move connections between
    /// loops that differ by one, merely swapping which holds more; a hand-off costs the other loop
    /// a wake-up).
    static let handOffMargin = 2

    init(loops: Int = 1) {
        precondition(loops > 0)
        perLoop = (0..<loops).map { _ in LoopShare() }
    }

    var current: Int { total.load(ordering: .relaxed) }

    /// Connections open on `loop` (and on their way to it).
    func count(onLoop loop: Int) -> Int { perLoop[loop].count.load(ordering: .relaxed) }

    func opened(onLoop loop: Int) { add(1, onLoop: loop) }

    func closed(onLoop loop: Int) { add(-1, onLoop: loop) }

    private func add(_ delta: Int, onLoop loop: Int) {
        total.add(delta, ordering: .relaxed)
        perLoop[loop].count.add(delta, ordering: .relaxed)
    }

    /// The loop that should serve a connection the kernel gave to loop `accepting`.
    ///
    /// The kernel spreads connections over the loops' listening sockets by a hash of their
    /// addresses, so 64 keep-alive clients land anywhere from 22/42 to 35/29 over two loops (32/32
    /// one time in ten). The loop holding more serves each of its clients less often, and their
    /// latency sets the tail for everyone (p99 at 64 connections was 1.1-1.2x nginx's, whose
    /// workers share one accept queue and end up 32/32).
    /// So: the accepting loop, unless another holds at least `handOffMargin` fewer; then the least
    /// loaded one, which is counted at once (`handingOff(toLoop:)`) so that a burst of accepts does
    /// not send every connection the same way.
    func placement(acceptedOn accepting: Int) -> Int {
        var target = accepting
        var least = count(onLoop: accepting) - Self.handOffMargin + 1
        for loop in perLoop.indices where loop != accepting {
            let count = count(onLoop: loop)
            if count < least {
                target = loop
                least = count
            }
        }
        return target
    }

    /// A connection is on its way to `loop`: counted there, and against `limits.max_connections`,
    /// until `arrived(onLoop:)`, so that a burst of accepts on one loop cannot pass the limit while
    /// its hand-offs wait on the other loops' queues.
    func handingOff(toLoop loop: Int) { add(1, onLoop: loop) }

    func arrived(onLoop loop: Int) { add(-1, onLoop: loop) }
}
