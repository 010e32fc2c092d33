import Logging

/// Settings every session reads; derived once from the configuration.
struct SessionSettings: Sendable {
    var httpLimits: HTTP1Limits
    /// Upstream responses may carry larger heads than we accept from clients (cookies, CSPs).
    var upstreamHTTPLimits: HTTP1Limits
    var headerTimeout: Duration
    var idleTimeout: Duration
    var bodyTimeout: Duration
    var responseTimeout: Duration
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
    var openSessions = 0

    init(loop: EventLoop, pool: UpstreamPool, tokens: TokenProvider, rules: ForwardingRules, hosts: HostAllowlist, settings: SessionSettings, logger: Logger) {
        self.hosts = hosts
        self.loop = loop
        self.pool = pool
        self.tokens = tokens
        self.rules = rules
        self.settings = settings
        self.logger = logger
    }
}
