import Logging
import Synchronization

/// Settings every session reads; derived once from the configuration.
struct SessionSettings: Sendable {
    var httpLimits: HTTP1Limits
    /// Upstream responses may carry larger heads than we accept from clients (cookies, CSPs).
    var upstreamHTTPLimits: HTTP1Limits
    var headerTimeout: Duration
    var idleTimeout: Duration
    var bodyTimeout: Duration
    var responseTimeout: Duration
    /// Largest request body accepted; nil: no limit.
    var maxBodySize: UInt64?
    var retryUnauthorized: UpstreamConfig.RetryUnauthorized = .invalidToken
}

/// What the sessions of one loop share: their upstream pool and the process-wide services.
/// @unchecked Sendable: `openSessions` and the pool are touched only on `loop.queue`; the rest is immutable.
final class LoopContext: @unchecked Sendable {
    let loop: EventLoop
    let pool: UpstreamPool
    let tokens: TokenProvider
    let rules: ForwardingRules
    let hosts: HostAllowlist
    let settings: SessionSettings
    let logger: Logger
    let connections: ConnectionCounter
    var openSessions = 0

    init(loop: EventLoop, pool: UpstreamPool, tokens: TokenProvider, rules: ForwardingRules, hosts: HostAllowlist, settings: SessionSettings, logger: Logger, connections: ConnectionCounter) {
        self.connections = connections
        self.hosts = hosts
        self.loop = loop
        self.pool = pool
        self.tokens = tokens
        self.rules = rules
        self.settings = settings
        self.logger = logger
    }
}

/// Client connections open across all loops, checked by the acceptor against `limits.max_connections`.
final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    var current: Int { count.load(ordering: .relaxed) }

    func opened() { count.add(1, ordering: .relaxed) }
    func closed() { count.subtract(1, ordering: .relaxed) }
}
