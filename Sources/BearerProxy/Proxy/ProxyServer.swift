import BearerTLS
import Dispatch
import Logging
#if canImport(Glibc)
import Glibc
import BearerSync
#endif

/// Why the proxy could not start. The executable prints it and exits non-zero.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
}

/// The running proxy: loops, listener, the current generation (config, token provider, per-loop
/// contexts), the admin endpoint and the metrics.
///
/// Sendable: mutable state (generation, listener, reload outcome) is behind `state`.
public final class ProxyServer: Sendable {
    struct State {
        var generation: ProxyGeneration
        var listener: ProxyListeners
        var lastReloadError: String?
        var shuttingDown = false
        /// For the status page (seconds since 1970): the last accepted reload, and the last
        /// rejected one with its reason, kept after later reloads succeed.
        var lastReloadAt: Double?
        var lastRejectedReload: (at: Double, reason: String)?
    }

    /// Holds the current generation for the accept handler without a reference cycle to the server.
    final class Current: Sendable {
        let state: Locked<State>
        init(_ state: State) { self.state = Locked(state) }
    }

    let logger: Logger
    let services: ProxyGeneration.Services
    let current: Current
    private let heartbeat: LoopHeartbeat
    private let admin: LocalHTTPServer?
    public var metrics: ProxyMetrics { services.metrics }

    public var config: ProxyConfig { current.state.withLock { $0.generation.config } }
    /// The address the proxy listens on (with the real port when the config said 0).
    public var listenAddress: SocketAddress { current.state.withLock { $0.listener.address } }
    public var adminAddress: SocketAddress? { admin?.address }

    public init(config: ProxyConfig, logger: Logger, metrics: ProxyMetrics = ProxyMetrics()) throws(StartupError) {
        // TLS writes go through OpenSSL's own write(2); a peer that vanished must be an error, not a signal.
        signal(SIGPIPE, SIG_IGN)
        self.logger = logger
        let group = EventLoopGroup(count: max(1, config.workers))
        services = .init(group: group, tokenLoop: EventLoop(index: 0, label: "bearer-proxy.token"),
                         resolver: AddressResolver(), metrics: metrics, logger: logger)

        let listener = try Self.bind(config.listen, label: "listen", group: group)
        let generation: ProxyGeneration
        do {
            generation = try ProxyGeneration(number: 1, config: config, listenPort: listener.address.port, services: services, previous: nil)
        } catch {
            listener.close()
            throw error
        }
        current = Current(State(generation: generation, listener: listener))
        // The heartbeat's tick also returns the heap's free pages to the kernel after bursts.
        heartbeat = LoopHeartbeat(loops: group.loops, heapTrimmer: HeapTrimmer())
        Self.startAccepting(listener, current: current, group: group)

        if let adminConfig = config.admin {
            do {
                let address = try Self.address(adminConfig.listen, label: "admin.listen")
                // A loop of its own: probes and the status page answer while the proxy's loops are
                // saturated, instead of queueing behind proxied traffic.
                let adminGroup = EventLoopGroup(count: 1, label: "bearer-proxy.admin-loop")
                admin = try AdminEndpoints.start(listen: address, group: adminGroup,
                                                 source: Self.adminSource(current: current, heartbeat: heartbeat, metrics: metrics))
            } catch let error as StartupError {
                listener.close()
                heartbeat.stop()
                throw error
            } catch {
                listener.close()
                heartbeat.stop()
                throw StartupError(description: "cannot listen on admin address \(adminConfig.listen): \(error)")
            }
        } else {
            admin = nil
        }
        logger.info("bearer-proxy started", metadata: [
            "version": "\(BearerProxyVersion.current)",
            "openssl": "\(OpenSSLLibrary.version)",
            "listen": "\(listener.address)",
            "routes": "\(config.routes.map { "\($0.match) -> \($0.upstream.url) (\($0.token))" }.joined(separator: "; "))",
            "token_endpoints": "\(config.tokenProfiles.map { "\($0.name): \($0.config.endpointDescription) (\($0.config.authMethod.rawValue))" }.joined(separator: "; "))",
            "admin": "\(admin.map { "\($0.address)" } ?? "disabled")",
            "workers": "\(group.loops.count)",
        ])
        logger.info("config in force", metadata: ["generation": "1", "summary": "\(config.summary().joined(separator: "; "))"])
        // Fetch the first tokens now, so the first requests do not wait for them.
        generation.startNewProfiles()
    }

    /// Stops accepting, closes idle keep-alive connections, waits up to `drainTimeout` for
    /// requests in flight to finish, then closes idle upstream connections and calls `completion`.
    /// `/readyz` answers 503 while draining.
    public func shutdown(drainTimeout: Duration, completion: @escaping @Sendable () -> Void) {
        let (listener, generation) = current.state.withLock { state in
            state.shuttingDown = true
            return (state.listener, state.generation)
        }
        listener.close()
        // Retired generations stopped their watchers when they were replaced.
        generation.stopWatchers()
        logger.info("shutting down: no longer accepting connections", metadata: ["drain_timeout": "\(drainTimeout)"])
        let contexts = generation.contexts
        let registries = services.sessions
        let deadline = EventLoop.deadline(after: drainTimeout)
        let queue = DispatchQueue(label: "bearer-proxy.drain")
        let (logger, admin, heartbeat) = (self.logger, self.admin, self.heartbeat)
        @Sendable func check() {
            // Sessions that finished a request since the last check are idle now: close them too.
            let open = registries.reduce(0) { sum, sessions in
                sum + sessions.loop.queue.sync {
                    sessions.closeIdle()
                    return sessions.count
                }
            }
            if open == 0 || EventLoop.now() >= deadline {
                if open > 0 {
                    logger.warning("drain timeout reached; cutting what is still open", metadata: ["open_connections": "\(open)"])
                    for sessions in registries { sessions.loop.queue.sync { sessions.abandonAll() } }
                }
                for context in contexts { context.loop.queue.sync { context.routes.forEach { $0.pool.closeIdle() } } }
                admin?.close()
                heartbeat.stop()
                logger.info("drained", metadata: ["open_connections": "\(open)"])
                completion()
            } else {
                queue.asyncAfter(deadline: .now() + .milliseconds(50)) { check() }
            }
        }
        queue.async { check() }
    }

    /// Pool statistics of the current generation's first route (in the one-route form, the only
    /// one), per loop, for tests.
    func poolStatistics(route: Int = 0) -> [UpstreamPool.Statistics] {
        current.state.withLock { $0.generation.contexts }.map { context in context.loop.queue.sync { context.routes[route].pool.statistics } }
    }

    /// The first profile's token state (in the one-route form, the only one), for tests.
    var tokenStatus: TokenProvider.Status { tokenStatus(profile: current.state.withLock { $0.generation.profiles[0].name })! }

    func tokenStatus(profile: String) -> TokenProvider.Status? {
        current.state.withLock { $0.generation.provider(named: profile) }?.status
    }

    /// For tests: look at the credential files now instead of at the next poll.
    func checkCredentialFiles() { current.state.withLock { $0.generation }.profiles.forEach { $0.watcher?.checkNow() } }

    // MARK: Wiring

    static func address(_ hostPort: HostPort, label: String) throws(StartupError) -> SocketAddress {
        guard let address = SocketAddress(ip: hostPort.host == "localhost" ? "127.0.0.1" : hostPort.host, port: hostPort.port) else {
            throw StartupError(description: "\(label): \(hostPort) is not a numeric IP address")
        }
        return address
    }

    /// One listening socket per loop, all bound to the address with SO_REUSEPORT and each in its
    /// own loop's epoll set: the kernel spreads new connections over them, and each connection
    /// starts on the loop that accepted it, without a hand-off to another thread.
    static func bind(_ hostPort: HostPort, label: String, group: EventLoopGroup) throws(StartupError) -> ProxyListeners {
        var address = try address(hostPort, label: label)
        var listeners: [Listener] = []
        do {
            // A port another process holds (even with SO_REUSEPORT) is an error, as it always was.
            if address.port != 0 { try Listener.checkAvailable(address) }
            for loop in group.loops {
                let listener = try Listener(binding: address, label: "bearer-proxy.accept", loop: loop, reusePort: true)
                // Port 0: the first socket picks the port; the others share it.
                if listeners.isEmpty { address = listener.address }
                listeners.append(listener)
            }
        } catch {
            listeners.forEach { $0.close() }
            throw StartupError(description: "cannot listen on \(hostPort): \(error)")
        }
        return ProxyListeners(listeners)
    }

    /// Each accepted connection starts on the loop that accepted it, with the context of the
    /// generation current now; or, when that loop holds more connections than another by a margin,
    /// on the least loaded one (`ConnectionCounter.placement(acceptedOn:)`).
    static func startAccepting(_ listeners: ProxyListeners, current: Current, group: EventLoopGroup) {
        for listener in listeners.all {
            let loop = listener.acceptingLoop
            listener.start { fd, peer in
                let context = current.state.withLock { $0.generation.contexts[loop.index] }
                let connections = context.connections
                if connections.current >= context.settings.maxConnections {
                    // Over the limit: say so and close, without starting a session, so that the
                    // connections already open keep their share of the machine. (Accepting runs a
                    // bounded batch per event; see `Listener.acceptsPerEvent`.)
                    refuse(fd)
                    return
                }
                let target = connections.placement(acceptedOn: loop.index)
                if target == loop.index {
                    startSession(fd: fd, peer: peer, context: context)
                    return
                }
                // Registered in the target loop's epoll set by that loop; until then the socket
                // only queues what the client sends.
                connections.handingOff(toLoop: target)
                let targetLoop = group.loops[target]
                targetLoop.execute {
                    connections.arrived(onLoop: target)
                    // The generation current when it arrives, as for a connection accepted then.
                    let context = current.state.withLock { $0.generation.contexts[target] }
                    startSession(fd: fd, peer: peer, context: context)
                }
            }
        }
    }

    /// On `context.loop`: a session for an accepted descriptor.
    private static func startSession(fd: Int32, peer: SocketAddress, context: LoopContext) {
        guard let connection = try? Connection.accepted(fd: fd, loop: context.loop) else {
            Socket.close(fd)
            return
        }
        ClientSession(client: connection, context: context, clientAddress: peer.ip).start()
    }

    private static let overloaded = ErrorResponse.bytes(for: .tooManyConnections, connection: .close)

    /// Best effort: one non-blocking send of a canned 503, then close.
    private static func refuse(_ fd: Int32) {
        overloaded.withUnsafeBytes { _ = send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Socket.close(fd)
    }

    static func adminSource(current: Current, heartbeat: LoopHeartbeat, metrics: ProxyMetrics) -> AdminSource {
        let started = EventLoop.now()
        return AdminSource(
            healthProblem: { heartbeat.problem() },
            readiness: {
                let (generation, shuttingDown, reloadError) = current.state.withLock { ($0.generation, $0.shuttingDown, $0.lastReloadError) }
                return readiness(of: generation, shuttingDown: shuttingDown, reloadError: reloadError)
            },
            metrics: {
                let generation = current.state.withLock { $0.generation }
                metrics.refresh(profiles: generation.profiles.map { ($0.name, $0.provider.metricsReading) }, generation: generation.number)
                return metrics.exposition()
            },
            status: {
                let state = current.state.withLock { ($0.generation, $0.lastReloadAt, $0.lastRejectedReload) }
                return statusFacts(of: state.0, lastReloadAt: state.1, lastRejectedReload: state.2, metrics: metrics,
                                   uptime: Double(EventLoop.now() &- started) / 1e9)
            })
    }

    /// What the status page shows besides the metrics. Never a secret or a token.
    static func statusFacts(of generation: ProxyGeneration, lastReloadAt: Double?, lastRejectedReload: (at: Double, reason: String)?,
                            metrics: ProxyMetrics, uptime: Double) -> StatusFacts {
        let profiles = generation.profiles.map { profile in
            let status = profile.provider.status
            let state = status.hasValidToken ? (status.fetching ? "refreshing" : "valid")
                : (status.lastFailure == nil ? "fetching" : "failing")
            let shared = profile.sharedCache.map { cache in
                cache.client.status.reachable.map { $0 ? "reachable" : "unreachable" } ?? "not yet used"
            }
            return StatusFacts.Profile(
                name: profile.name, state: state, secondsLeft: status.secondsUntilExpiry, lifetimeSeconds: status.lifetimeSeconds,
                secondsUntilRefresh: status.secondsUntilRefresh, lastFetchAt: status.lastFetchEndedAt,
                lastFetchSucceeded: status.lastFetchSucceeded, lastError: status.lastFailure,
                secondsUntilRetry: status.secondsUntilRetry, tokenRequests: status.fetches,
                jwtID: status.jwtID, scope: status.scope, sharedCache: shared)
        }
        let routes = generation.config.routes.map { route in
            StatusFacts.Route(label: route.label, upstream: route.upstream.url.description)
        } + [StatusFacts.Route(label: "none", upstream: "(refused before a route was chosen)", hasUpstream: false)]
        let failures = metrics.recentFailures.newest(20).map {
            StatusFacts.Failure(time: $0.time, status: $0.status, method: $0.method, path: $0.path, reason: $0.reason)
        }
        return StatusFacts(profiles: profiles, routes: routes, failures: failures, generation: generation.number,
                           lastReloadAt: lastReloadAt, lastRejectedReload: lastRejectedReload,
                           version: BearerProxyVersion.current, openSSL: OpenSSLLibrary.version, uptimeSeconds: uptime,
                           now: WallClock.seconds())
    }

    /// `/readyz`: ready when every profile holds a valid token, a configuration is in force and no
    /// shutdown has begun. The top-level fields are those of the one-profile form (for the first
    /// profile that is not ready, or the token that expires first); `profiles` has each one's state.
    static func readiness(of generation: ProxyGeneration, shuttingDown: Bool, reloadError: String?) -> (ready: Bool, fields: [(String, AdminValue)]) {
        var fields: [(String, AdminValue)] = [("config_generation", .number(generation.number))]
        if let reloadError { fields.append(("last_reload_error", .string(reloadError))) }
        var states: [(String, AdminValue)] = []
        var problem: String?
        var soonest: Int?
        for profile in generation.profiles {
            let status = profile.provider.status
            var state: [(String, AdminValue)]
            if status.hasValidToken {
                let expiresIn = Int(status.secondsUntilExpiry ?? 0)
                soonest = min(soonest ?? expiresIn, expiresIn)
                state = [("state", .string("valid")), ("token_expires_in", .number(expiresIn))]
            } else {
                let reason = status.lastFailure.map { "no valid token: \($0)" } ?? "no token fetched yet"
                problem = problem ?? (generation.profiles.count > 1 ? "profile \(profile.name): \(reason)" : reason)
                state = [("state", .string(status.lastFailure == nil ? "fetching" : "failing")), ("reason", .string(reason))]
            }
            // Shown, never required: without Redis each replica fetches its own token.
            if let cache = profile.sharedCache {
                let health = cache.client.status
                cache.client.probe(ifOlderThan: .seconds(5))
                var shared: [(String, AdminValue)] = [
                    ("reachable", health.reachable.map(AdminValue.bool) ?? .string("not yet used")),
                ]
                if let error = health.lastError { shared.append(("last_error", .string(error))) }
                state.append(("shared_cache", .object(shared)))
            }
            states.append((profile.name, .object(state)))
        }
        fields.append(("profiles", .object(states)))
        if shuttingDown { return (false, [("reason", .string("shutting down"))] + fields) }
        if let problem { return (false, [("reason", .string(problem))] + fields) }
        return (true, [("token_expires_in", .number(soonest ?? 0))] + fields)
    }
}

extension TokenProvider {
    /// The provider's state as the token metrics export it.
    var metricsReading: TokenMetrics.Reading {
        let status = self.status
        return TokenMetrics.Reading(
            source: ObjectIdentifier(self), valid: status.hasValidToken, secondsUntilExpiry: status.secondsUntilExpiry ?? 0,
            fetchesSucceeded: status.fetchesSucceeded,
            fetchesFailed: status.fetchesFailedTransient + status.fetchesFailedConfiguration)
    }
}
