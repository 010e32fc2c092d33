import BearerTLS
import Logging

/// Everything derived from one loaded configuration: the token provider and one context per loop.
///
/// New connections get the current generation; a reload builds a new one and swaps it in, while
/// connections already open finish on the generation they started with.
final class ProxyGeneration: Sendable {
    let number: Int
    let config: ProxyConfig
    let tokens: TokenProvider
    let contexts: [LoopContext]
    /// Set only when this generation made its own provider (the first, or new token settings):
    /// its first fetch should start now rather than with the first request.
    let startsNewProvider: Bool
    let tokenLoop: EventLoop
    /// Watches the secret, key and certificate files of this generation's token provider; handed
    /// on with the provider when a reload keeps it.
    let credentialWatcher: CredentialWatcher?

    /// What the generation is built from besides the configuration; fixed for the process's life.
    struct Services: Sendable {
        var group: EventLoopGroup
        var tokenLoop: EventLoop
        var resolver: AddressResolver
        var metrics: ProxyMetrics
        var logger: Logger
        /// Client connections open across all loops and generations (limits.max_connections).
        var connections = ConnectionCounter()
        /// The open sessions of each loop (by loop index), across generations.
        var sessions: [SessionRegistry]

        init(group: EventLoopGroup, tokenLoop: EventLoop, resolver: AddressResolver, metrics: ProxyMetrics, logger: Logger) {
            self.group = group
            self.tokenLoop = tokenLoop
            self.resolver = resolver
            self.metrics = metrics
            self.logger = logger
            self.sessions = group.loops.map(SessionRegistry.init(loop:))
        }
    }

    /// Builds contexts for `config`. Reuses `previous`'s token provider (and so its cached token)
    /// when the token settings, secret included, did not change.
    init(number: Int, config: ProxyConfig, listenPort: UInt16, services: Services, previous: ProxyGeneration?) throws(StartupError) {
        self.number = number
        self.config = config
        self.tokenLoop = services.tokenLoop
        let logger = services.logger
        let upstreamTLS: TLSContext?
        do {
            upstreamTLS = config.upstream.url.isTLS
                ? try TLSContext.client(TLSClientConfiguration(caFile: config.upstream.caFile, verifyPeer: !config.upstream.insecureSkipVerify))
                : nil
            // Fail now, not at the first token request, when the token TLS settings are unusable.
            if config.token.usesTLS { _ = try TokenTLSContexts(config.token).current() }
        } catch {
            throw StartupError(description: "TLS setup failed: \(error)")
        }
        if config.upstream.insecureSkipVerify {
            logger.warning("upstream.insecure_skip_verify is set: the upstream certificate is NOT verified; the bearer token can be sent to an impostor")
        }
        if config.token.insecureSkipVerify {
            logger.warning("token.insecure_skip_verify is set: the token endpoint certificate is NOT verified; the client secret can be sent to an impostor")
        }

        if let previous, previous.config.token == config.token {
            tokens = previous.tokens
            startsNewProvider = false
            credentialWatcher = previous.credentialWatcher
        } else {
            let setup = TokenSetup(config: config.token, loop: services.tokenLoop, resolver: services.resolver,
                                   tlsMetrics: services.metrics.tokenTLS)
            let provider = TokenProvider(
                fetcher: setup.fetcher,
                policy: .init(refreshMargin: config.token.refreshMargin, defaultLifetime: config.token.defaultLifetime,
                              minimumInterval: config.token.minRequestInterval),
                logger: logger)
            tokens = provider
            startsNewProvider = true
            credentialWatcher = CredentialWatcher(source: setup.credentials) { [weak provider] in provider?.credentialsChanged() }
        }

        let upstreamEndpoint = Endpoint(host: config.upstream.url.host, port: config.upstream.url.port, tlsContext: upstreamTLS)
        let rules = ForwardingRules(upstreamAuthority: config.upstream.url.authority, basePath: config.upstream.url.path)
        var limits = HTTP1Limits.default
        limits.maxRequestLineLength = config.limits.maxRequestLine
        limits.maxHeadSize = config.limits.maxHeaderBytes
        limits.maxFieldCount = config.limits.maxHeaderCount
        let settings = SessionSettings(
            httpLimits: limits, upstreamHTTPLimits: .upstreamDefault,
            headerTimeout: config.timeouts.headerRead, idleTimeout: config.timeouts.idle,
            bodyTimeout: config.timeouts.bodyRead, responseTimeout: config.upstream.responseTimeout,
            maxBodySize: config.limits.maxBodySize, retryUnauthorized: config.upstream.retryUnauthorized,
            replayBodyLimit: config.upstream.replayBodyLimit, maxConnections: config.limits.maxConnections)
        let poolSettings = UpstreamPool.Settings(
            maxIdle: config.upstream.poolMaxIdle, idleTimeout: config.upstream.poolIdleTimeout,
            connectTimeout: config.upstream.connectTimeout)
        let hosts = HostAllowlist(extraNames: config.allowedHosts, port: listenPort)
        let tokens = self.tokens
        contexts = services.group.loops.map { loop in
            LoopContext(
                loop: loop,
                pool: UpstreamPool(loop: loop, endpoint: upstreamEndpoint, settings: poolSettings, resolver: services.resolver),
                tokens: tokens, rules: rules, hosts: hosts, settings: settings, logger: logger,
                connections: services.connections, sessions: services.sessions[loop.index],
                metrics: services.metrics, accessLog: config.log)
        }
        services.metrics.pool.capacity.set(config.upstream.poolMaxIdle * services.group.loops.count)
    }

    /// A replaced generation: its pools stop keeping connections, and each of its contexts points
    /// to `successor`'s on the same loop, where its sessions move at their next request. Its token
    /// provider, unless `successor` goes on with it, stops refreshing and watching files: only a
    /// request still in flight on this generation can ask it for a token.
    func retire(successor: ProxyGeneration) {
        let keepsProvider = successor.tokens === tokens
        if !keepsProvider {
            credentialWatcher?.stop()
            tokens.retire()
        }
        for (context, next) in zip(contexts, successor.contexts) {
            context.loop.execute {
                context.successor = next
                context.pool.retired = true
                context.pool.closeIdle()
            }
        }
    }
}

extension HTTP1Limits {
    /// Upstream heads may be larger than client heads (many cookies, long policies).
    static var upstreamDefault: HTTP1Limits {
        var limits = HTTP1Limits.default
        limits.maxHeadSize = 64 * 1024
        limits.maxFieldCount = 200
        limits.maxRequestLineLength = 8 * 1024
        return limits
    }
}
