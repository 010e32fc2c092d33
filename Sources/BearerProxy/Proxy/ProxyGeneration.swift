import BearerTLS
import Logging

/// Everything derived from one loaded configuration: a token provider per profile and one context
/// per loop (with that loop's routes).
///
/// New connections get the current generation; a reload builds a new one and swaps it in, while
/// connections already open finish their request on the generation they started with.
final class ProxyGeneration: Sendable {
    /// One token profile's provider, and the watcher of its secret, key and certificate files.
    /// A reload that keeps the profile unchanged keeps both, and with them the cached token.
    struct Profile: Sendable {
        var name: String
        var config: TokenConfig
        var provider: TokenProvider
        var watcher: CredentialWatcher?
        /// token.dpop: the key of this profile's proofs, kept with its token (which is bound to it).
        var dpop: DPoPProver?
        /// token.shared_cache: the fleet's token in Redis, asked before the token endpoint.
        var sharedCache: SharedTokenCache?
        /// Made by this generation (the first, or new settings): its first fetch should start now
        /// rather than with the first request, and its watcher start.
        var isNew: Bool
    }

    let number: Int
    let config: ProxyConfig
    /// In the order of `tokens:`.
    let profiles: [Profile]
    let contexts: [LoopContext]
    let tokenLoop: EventLoop
    /// The TLS context of each route's upstream (nil for http://), in the order of `routes:`.
    let upstreamTLS: [UpstreamTLS?]

    /// What the generation is built from besides the configuration; fixed for the process's life.
    struct Services: Sendable {
        var group: EventLoopGroup
        var tokenLoop: EventLoop
        var resolver: AddressResolver
        var metrics: ProxyMetrics
        var logger: Logger
        /// Client connections open across all loops and generations (limits.max_connections), and
        /// on each loop.
        var connections: ConnectionCounter
        /// The open sessions of each loop (by loop index), across generations.
        var sessions: [SessionRegistry]

        init(group: EventLoopGroup, tokenLoop: EventLoop, resolver: AddressResolver, metrics: ProxyMetrics, logger: Logger) {
            self.group = group
            self.tokenLoop = tokenLoop
            self.resolver = resolver
            self.metrics = metrics
            self.logger = logger
            self.sessions = group.loops.map(SessionRegistry.init(loop:))
            self.connections = ConnectionCounter(loops: group.loops.count)
        }
    }

    /// Builds contexts for `config`. Keeps `previous`'s provider (and so its cached token) for
    /// every profile whose name and settings, secret included, did not change.
    init(number: Int, config: ProxyConfig, listenPort: UInt16, services: Services, previous: ProxyGeneration?) throws(StartupError) {
        self.number = number
        self.config = config
        self.tokenLoop = services.tokenLoop
        let logger = services.logger
        var upstreamTLS: [UpstreamTLS?] = []
        do {
            for route in config.routes {
                upstreamTLS.append(route.upstream.url.isTLS ? try UpstreamTLS(route.upstream, route: route.label, logger: logger) : nil)
            }
            // Fail now, not at the first token request, when the token TLS settings are unusable.
            for profile in config.tokenProfiles where profile.config.usesTLS { _ = try TokenTLSContexts(profile.config).current() }
        } catch {
            throw StartupError(description: "TLS setup failed: \(error)")
        }
        for route in config.routes where route.upstream.insecureSkipVerify {
            logger.warning("upstream.insecure_skip_verify is set: the upstream certificate is NOT verified; the bearer token can be sent to an impostor",
                           metadata: ["route": "\(route.label)", "upstream": "\(route.upstream.url.host)"])
        }
        for profile in config.tokenProfiles where profile.config.insecureSkipVerify {
            logger.warning("token.insecure_skip_verify is set: the token endpoint certificate is NOT verified; the client secret can be sent to an impostor",
                           metadata: ["profile": "\(profile.name)"])
        }

        profiles = config.tokenProfiles.map { profile in
            if let kept = previous?.profiles.first(where: { $0.name == profile.name && $0.config == profile.config }) {
                return Profile(name: kept.name, config: kept.config, provider: kept.provider, watcher: kept.watcher,
                               dpop: kept.dpop, sharedCache: kept.sharedCache, isNew: false)
            }
            return Self.makeProfile(profile, services: services, logger: logger)
        }

        var limits = HTTP1Limits.default
        limits.maxRequestLineLength = config.limits.maxRequestLine
        limits.maxHeadSize = config.limits.maxHeaderBytes
        limits.maxFieldCount = config.limits.maxHeaderCount
        let settings = SessionSettings(
            httpLimits: limits, upstreamHTTPLimits: .upstreamDefault,
            headerTimeout: LoopTimeout(config.timeouts.headerRead), idleTimeout: LoopTimeout(config.timeouts.idle),
            bodyTimeout: LoopTimeout(config.timeouts.bodyRead), tunnelIdleTimeout: LoopTimeout(config.timeouts.tunnelIdle),
            maxBodySize: config.limits.maxBodySize, maxConnections: config.limits.maxConnections)
        let table = RouteTable(config.routes.map(\.match), listenPort: listenPort)
        let hosts = HostAllowlist(extraNames: config.allowedHosts, port: listenPort)
        let providers = Dictionary(uniqueKeysWithValues: profiles.map { ($0.name, $0.provider) })
        let provers = Dictionary(uniqueKeysWithValues: profiles.map { ($0.name, $0.dpop) })
        let nonces = config.routes.map { _ in DPoPNonce() }
        contexts = services.group.loops.map { loop in
            let routes = zip(config.routes.indices, upstreamTLS).map { index, tls in
                let route = config.routes[index]
                let upstream = route.upstream
                var currentTLS: (@Sendable () -> TLSContext)?
                if let tls { currentTLS = { tls.current } }
                let pool = UpstreamPool(
                    loop: loop, endpoint: Endpoint(host: upstream.url.host, port: upstream.url.port, tlsContext: tls?.current),
                    settings: .init(maxIdle: upstream.poolMaxIdle, idleTimeout: LoopTimeout(upstream.poolIdleTimeout),
                                    connectTimeout: upstream.connectTimeout),
                    resolver: services.resolver, currentTLS: currentTLS)
                return RouteContext(
                    label: route.label,
                    pool: pool,
                    tokens: providers[route.token]!,
                    dpop: provers[route.token] ?? nil,
                    dpopNonce: nonces[index],
                    rules: ForwardingRules(upstreamAuthority: upstream.url.authority, basePath: upstream.url.path,
                                           strippedPrefix: route.stripPrefix ? route.match.prefixStem : "",
                                           upstreamScheme: upstream.url.scheme),
                    settings: .init(responseTimeout: LoopTimeout(upstream.responseTimeout), retryUnauthorized: upstream.retryUnauthorized,
                                    replayBodyLimit: upstream.replayBodyLimit),
                    metrics: services.metrics.requests(route: route.label))
            }
            return LoopContext(
                loop: loop, routes: routes, table: table, hosts: hosts, settings: settings, logger: logger,
                connections: services.connections, sessions: services.sessions[loop.index],
                metrics: services.metrics, accessLog: config.log)
        }
        self.upstreamTLS = upstreamTLS
        services.metrics.pool.capacity.set(config.routes.reduce(0) { $0 + $1.upstream.poolMaxIdle } * services.group.loops.count)
    }

    private static func makeProfile(_ profile: TokenProfile, services: Services, logger: Logger) -> Profile {
        var logger = logger
        logger[metadataKey: "profile"] = "\(profile.name)"
        let config = profile.config
        let setup = TokenSetup(config: config, loop: services.tokenLoop, resolver: services.resolver,
                               tlsMetrics: services.metrics.tokenTLS)
        let policy = TokenProvider.Policy(refreshMargin: config.refreshMargin, defaultLifetime: config.defaultLifetime,
                                          minimumInterval: config.minRequestInterval)
        var fetcher: any TokenFetching = setup.fetcher
        var sharedCache: SharedTokenCache?
        if let shared = config.sharedCache {
            sharedCache = Self.makeSharedCache(shared, profile: profile.name, config: config, inner: setup.fetcher,
                                               dpop: setup.dpop, policy: policy, services: services, logger: logger)
            fetcher = sharedCache ?? fetcher
        }
        let provider = TokenProvider(fetcher: fetcher, policy: policy, logger: logger)
        let watcher = CredentialWatcher(source: setup.credentials) { [weak provider] in provider?.credentialsChanged() }
        if let problem = setup.dpopProblem {
            logger.error("token.dpop key unusable; no token can be fetched", metadata: ["reason": "\(problem)"])
        }
        return Profile(name: profile.name, config: config, provider: provider, watcher: watcher, dpop: setup.dpop,
                       sharedCache: sharedCache, isNew: true)
    }

    /// The shared cache in front of `inner`; nil (with an error logged) when its TLS settings are
    /// unusable, so the profile fetches on its own rather than not at all.
    private static func makeSharedCache(
        _ shared: SharedCacheConfig, profile: String, config: TokenConfig, inner: any TokenFetching, dpop: DPoPProver?,
        policy: TokenProvider.Policy, services: Services, logger: Logger
    ) -> SharedTokenCache? {
        var tlsContext: TLSContext?
        if shared.server.isTLS {
            do {
                tlsContext = try TLSContext.client(TLSClientConfiguration(caFile: shared.caFile, verifyPeer: !shared.insecureSkipVerify, alpn: []))
            } catch {
                logger.error("token.shared_cache TLS setup failed; fetching tokens without the shared cache",
                             metadata: ["reason": "\(error.reason)"])
                return nil
            }
            if shared.insecureSkipVerify {
                logger.warning("token.shared_cache.insecure_skip_verify is set: the Redis certificate is NOT verified",
                               metadata: ["server": "\(shared.server)"])
            }
        }
        if config.dpop != nil, config.dpop?.keyFile == nil {
            // Each replica would make its own key, and a token bound to one key is no use to the others.
            logger.warning("token.shared_cache with token.dpop but no dpop.key_file: DPoP-bound tokens cannot be shared")
        }
        let metrics = services.metrics.sharedCache(profile: profile)
        let client = RedisClient(settings: .init(shared, tlsContext: tlsContext), loop: services.tokenLoop,
                                 resolver: services.resolver, logger: logger, observe: { metrics.observe($0) })
        return SharedTokenCache(inner: inner, config: config, shared: shared, dpop: dpop, policy: policy,
                                client: client, metrics: metrics, logger: logger)
    }

    /// Profiles made by this generation: fetch their first token now, and watch their files; and
    /// watch the upstream client certificates.
    func startNewProfiles() {
        for profile in profiles where profile.isNew {
            profile.provider.token(on: tokenLoop) { _ in }
            profile.watcher?.start()
        }
        for tls in upstreamTLS { tls?.startWatching() }
    }

    /// Stops every watcher of this generation (at shutdown).
    func stopWatchers() {
        for profile in profiles { profile.watcher?.stop() }
        for tls in upstreamTLS { tls?.stopWatching() }
    }

    /// The provider of the profile `name`, if this generation has it.
    func provider(named name: String) -> TokenProvider? {
        profiles.first { $0.name == name }?.provider
    }

    /// A replaced generation: its pools stop keeping connections, and each of its contexts points
    /// to `successor`'s on the same loop, where its sessions move at their next request. A token
    /// provider that `successor` does not go on with stops refreshing and watching files: only a
    /// request still in flight on this generation can ask it for a token.
    func retire(successor: ProxyGeneration) {
        for tls in upstreamTLS { tls?.stopWatching() }
        for profile in profiles where !successor.profiles.contains(where: { $0.provider === profile.provider }) {
            profile.watcher?.stop()
            profile.provider.retire()
        }
        for (context, next) in zip(contexts, successor.contexts) {
            context.loop.execute {
                context.successor = next
                for route in context.routes {
                    route.pool.retired = true
                    route.pool.closeIdle()
                }
            }
        }
    }
}
