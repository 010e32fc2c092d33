import BearerTLS
import Dispatch
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Why the proxy could not start. The executable prints it and exits non-zero.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
}

/// The running proxy: loops, listener, per-loop pools, the token provider and the admin endpoint.
public final class ProxyServer: Sendable {
    public let config: ProxyConfig
    private let logger: Logger
    private let group: EventLoopGroup
    private let contexts: [LoopContext]
    private let tokens: TokenProvider
    private let listener: Listener
    private let admin: LocalHTTPServer?
    private let credentialWatcher: CredentialWatcher

    /// The address the proxy listens on (with the real port when the config said 0).
    public var listenAddress: SocketAddress { listener.address }
    public var adminAddress: SocketAddress? { admin?.address }

    public init(config: ProxyConfig, logger: Logger) throws(StartupError) {
        // TLS writes go through OpenSSL's own write(2); a peer that vanished must be an error, not a signal.
        signal(SIGPIPE, SIG_IGN)
        self.config = config
        self.logger = logger
        let group = EventLoopGroup(count: max(1, config.workers))
        self.group = group
        let resolver = AddressResolver()

        let upstreamTLS: TLSContext?
        do {
            upstreamTLS = config.upstream.url.isTLS
                ? try TLSContext.client(TLSClientConfiguration(caFile: config.upstream.caFile, verifyPeer: !config.upstream.insecureSkipVerify))
                : nil
            // Fail at startup, not at the first token request, when the token TLS settings are unusable.
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

        let tokenLoop = EventLoop(index: 0, label: "bearer-proxy.token")
        let setup = TokenSetup(config: config.token, loop: tokenLoop, resolver: resolver)
        let tokens = TokenProvider(
            fetcher: setup.fetcher,
            policy: .init(refreshMargin: config.token.refreshMargin, defaultLifetime: config.token.defaultLifetime,
                          minimumInterval: config.token.minRequestInterval),
            logger: logger)
        self.tokens = tokens
        credentialWatcher = CredentialWatcher(source: setup.credentials) { [weak tokens] in tokens?.credentialsChanged() }

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
            maxBodySize: config.limits.maxBodySize, retryUnauthorized: config.upstream.retryUnauthorized)
        let connections = ConnectionCounter(limit: config.limits.maxConnections)
        let poolSettings = UpstreamPool.Settings(
            maxIdle: config.upstream.poolMaxIdle, idleTimeout: config.upstream.poolIdleTimeout,
            connectTimeout: config.upstream.connectTimeout)

        guard let listenAddress = SocketAddress(ip: config.listen.host == "localhost" ? "127.0.0.1" : config.listen.host, port: config.listen.port) else {
            throw StartupError(description: "listen: \(config.listen) is not a numeric IP address")
        }
        do {
            listener = try Listener(binding: listenAddress, label: "bearer-proxy.accept")
        } catch {
            throw StartupError(description: "cannot listen on \(config.listen): \(error)")
        }
        let hosts = HostAllowlist(extraNames: config.allowedHosts, port: listener.address.port)
        let contexts = group.loops.map { loop in
            LoopContext(
                loop: loop,
                pool: UpstreamPool(loop: loop, endpoint: upstreamEndpoint, settings: poolSettings, resolver: resolver),
                tokens: tokens, rules: rules, hosts: hosts, settings: settings, logger: logger, connections: connections)
        }
        self.contexts = contexts
        listener.start { fd, peer in
            if connections.current >= connections.limit {
                // Over the limit: say so and close, without touching any loop, so that the
                // connections already open keep their share of the machine.
                Self.refuse(fd)
                return
            }
            let loop = group.next()
            let context = contexts[loop.index]
            loop.execute {
                guard let connection = try? Connection.accepted(fd: fd, loop: loop) else {
                    Socket.close(fd)
                    return
                }
                ClientSession(client: connection, context: context, clientAddress: peer.ip).start()
            }
        }

        if let adminConfig = config.admin {
            guard let adminAddress = SocketAddress(ip: adminConfig.listen.host == "localhost" ? "127.0.0.1" : adminConfig.listen.host, port: adminConfig.listen.port) else {
                listener.close()
                throw StartupError(description: "admin.listen: \(adminConfig.listen) is not a numeric IP address")
            }
            do {
                admin = try AdminEndpoints.start(listen: adminAddress, group: group, tokens: tokens)
            } catch {
                listener.close()
                throw StartupError(description: "cannot listen on admin address \(adminConfig.listen): \(error)")
            }
        } else {
            admin = nil
        }
        logger.info("bearer-proxy started", metadata: [
            "version": "\(BearerProxyVersion.current)",
            "listen": "\(listener.address)",
            "upstream": "\(config.upstream.url)",
            "token_endpoint": "\(config.token.endpointDescription)",
            "auth_method": "\(config.token.authMethod.rawValue)",
            "admin": "\(admin.map { "\($0.address)" } ?? "disabled")",
            "workers": "\(group.loops.count)",
        ])
        // Fetch the first token now, so the first request does not wait for it.
        tokens.token(on: tokenLoop) { _ in }
        credentialWatcher.start()
    }

    /// Stops accepting, waits up to `drainTimeout` for open client connections to finish, then
    /// closes idle upstream connections and calls `completion`.
    public func shutdown(drainTimeout: Duration, completion: @escaping @Sendable () -> Void) {
        listener.close()
        admin?.close()
        credentialWatcher.stop()
        logger.info("shutting down: no longer accepting connections", metadata: ["drain_timeout": "\(drainTimeout)"])
        let deadline = EventLoop.deadline(after: drainTimeout)
        let queue = DispatchQueue(label: "bearer-proxy.drain")
        let contexts = self.contexts
        let logger = self.logger
        @Sendable func check() {
            let open = contexts.reduce(0) { sum, context in sum + context.loop.queue.sync { context.openSessions } }
            if open == 0 || EventLoop.now() >= deadline {
                if open > 0 { logger.warning("drain timeout reached", metadata: ["open_connections": "\(open)"]) }
                for context in contexts { context.loop.queue.sync { context.pool.closeIdle() } }
                completion()
            } else {
                queue.asyncAfter(deadline: .now() + .milliseconds(50)) { check() }
            }
        }
        queue.async { check() }
    }

    private static let overloaded = ErrorResponse.json(
        status: 503, reason: "Service Unavailable", error: "too_many_connections",
        detail: "the proxy is at limits.max_connections; retry later", extraFields: [("Retry-After", "1")], close: true)

    /// Best effort: one non-blocking send of a canned 503, then close.
    private static func refuse(_ fd: Int32) {
        overloaded.withUnsafeBytes { _ = send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Socket.close(fd)
    }

    /// Open client connections and pool statistics, for tests and the admin side.
    func poolStatistics() -> [UpstreamPool.Statistics] {
        contexts.map { context in context.loop.queue.sync { context.pool.statistics } }
    }

    var tokenStatus: TokenProvider.Status { tokens.status }

    /// For tests: look at the credential files now instead of at the next poll.
    func checkCredentialFiles() { credentialWatcher.checkNow() }
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

