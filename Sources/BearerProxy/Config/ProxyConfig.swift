#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything `proxy.conf` says, validated and with defaults applied.
///
/// Load it with `load(path:)`; `parse(yaml:...)` does the same from a string for tests.
public struct ProxyConfig: Sendable, Equatable {
    public static let defaultListen = HostPort(host: "127.0.0.1", port: 8080)
    public static let defaultDrainTimeout: Duration = .seconds(30)
    /// Upper bound for `workers`, against typos such as `workers: 80000`.
    public static let maxWorkers = 1024

    /// Plain-HTTP listener for local callers.
    public var listen: HostPort
    /// Event-loop queues; `workers: 0` in the file is resolved to the active processor count.
    public var workers: Int
    /// Extra `Host` values accepted besides localhost, 127.0.0.1 and [::1]; lowercased.
    public var allowedHosts: [String]
    /// Where requests go, in file order; never empty. The one-route form gives one route that
    /// takes every request.
    public var routes: [RouteConfig]
    /// The token profiles the routes name, in file order; never empty, each used by a route.
    public var tokenProfiles: [TokenProfile]
    /// Written with `routes:` (and `tokens:`), not in the one-route form (`upstream:`, `token:`).
    public var usesRoutes: Bool
    /// nil when the admin listener is disabled (`admin: {enabled: false}`).
    public var admin: AdminConfig?
    public var limits: LimitsConfig
    public var timeouts: TimeoutsConfig
    public var log: LogConfig
    /// How long in-flight requests may run after a shutdown signal.
    public var drainTimeout: Duration

    public init(
        listen: HostPort = ProxyConfig.defaultListen,
        workers: Int = ProcessInfo.processInfo.activeProcessorCount,
        allowedHosts: [String] = [],
        routes: [RouteConfig],
        tokenProfiles: [TokenProfile],
        usesRoutes: Bool,
        admin: AdminConfig? = AdminConfig(),
        limits: LimitsConfig = .defaults,
        timeouts: TimeoutsConfig = .defaults,
        log: LogConfig = .defaults,
        drainTimeout: Duration = ProxyConfig.defaultDrainTimeout
    ) {
        self.listen = listen
        self.workers = workers
        self.allowedHosts = allowedHosts
        self.routes = routes
        self.tokenProfiles = tokenProfiles
        self.usesRoutes = usesRoutes
        self.admin = admin
        self.limits = limits
        self.timeouts = timeouts
        self.log = log
        self.drainTimeout = drainTimeout
    }

    /// The one-route form: every request goes to `upstream` with the token of `token` (the
    /// profile `default`).
    public init(
        listen: HostPort = ProxyConfig.defaultListen,
        workers: Int = ProcessInfo.processInfo.activeProcessorCount,
        allowedHosts: [String] = [],
        upstream: UpstreamConfig,
        token: TokenConfig,
        admin: AdminConfig? = AdminConfig(),
        limits: LimitsConfig = .defaults,
        timeouts: TimeoutsConfig = .defaults,
        log: LogConfig = .defaults,
        drainTimeout: Duration = ProxyConfig.defaultDrainTimeout
    ) {
        self.init(
            listen: listen, workers: workers, allowedHosts: allowedHosts,
            routes: [RouteConfig(name: nil, match: RouteMatch(), upstream: upstream, token: TokenProfile.defaultName,
                                 stripPrefix: false, line: nil, label: "0")],
            tokenProfiles: [TokenProfile(name: TokenProfile.defaultName, config: token)], usesRoutes: false,
            admin: admin, limits: limits, timeouts: timeouts, log: log, drainTimeout: drainTimeout)
    }

    /// The first route's upstream: in the one-route form, the only one.
    public var upstream: UpstreamConfig { routes[0].upstream }
    /// The first profile's settings: in the one-route form, the only one.
    public var token: TokenConfig { tokenProfiles[0].config }

    public func profile(named name: String) -> TokenConfig? {
        tokenProfiles.first { $0.name == name }?.config
    }
}
