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
    public var upstream: UpstreamConfig
    public var token: TokenConfig
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
        upstream: UpstreamConfig,
        token: TokenConfig,
        admin: AdminConfig? = AdminConfig(),
        limits: LimitsConfig = .defaults,
        timeouts: TimeoutsConfig = .defaults,
        log: LogConfig = .defaults,
        drainTimeout: Duration = ProxyConfig.defaultDrainTimeout
    ) {
        self.listen = listen
        self.workers = workers
        self.allowedHosts = allowedHosts
        self.upstream = upstream
        self.token = token
        self.admin = admin
        self.limits = limits
        self.timeouts = timeouts
        self.log = log
        self.drainTimeout = drainTimeout
    }
}
