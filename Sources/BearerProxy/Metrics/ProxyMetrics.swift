import BearerTLS
import CoreMetrics
import Prometheus
import BearerSync

/// Every metric the proxy exports, created once at startup.
///
/// Handles are created up front and kept here so the request path only increments existing
/// handles: no label dictionaries, no registry lookups, no string building per request.
/// Prometheus counters and histograms are lock-free or internally locked, so any loop may use them.
/// Request metrics carry a `route` label and token metrics a `profile` label. Values that live
/// elsewhere (token state, pool capacity) are copied in by `refresh` just before a scrape.
/// Sendable: handles are thread-safe; the handle tables are behind locks.
public final class ProxyMetrics: Sendable {
    /// Method labels with a counter each; anything else is counted as "other" (bounded cardinality).
    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"]
    static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]

    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    let openClientConnections: CoreMetrics.Meter
    let pool: PoolMetrics
    /// Handshakes with the token endpoint (token requests and discovery).
    let tokenTLS: TLSHandshakeMetrics
    let configReloadSuccesses: CoreMetrics.Counter
    let configReloadFailures: CoreMetrics.Counter
    private let configGeneration: CoreMetrics.Meter
    /// The most recent failed requests, for the status page.
    let recentFailures = RecentFailures()
    /// Requests that never reached a route (refused, unrouted, malformed): `route="none"`.
    let unrouted: RequestMetrics
    /// Handles by route label and by profile name, made once and kept across reloads, so that a
    /// reload that keeps a name keeps counting on the same series.
    private let byRoute: Locked<[String: RequestMetrics]>
    private let byProfile = Locked<[String: TokenMetrics]>([:])
    private let sharedCaches = Locked<[String: SharedCacheMetrics]>([:])

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        self.registry = registry
        self.factory = factory
        openClientConnections = Meter(label: "bearer_proxy_client_connections_open", factory: factory)
        pool = PoolMetrics(factory: factory)
        tokenTLS = TLSHandshakeMetrics(peer: "token", factory: factory)
        configReloadSuccesses = Counter(label: "bearer_proxy_config_reloads_total", dimensions: [("outcome", "success")], factory: factory)
        configReloadFailures = Counter(label: "bearer_proxy_config_reloads_total", dimensions: [("outcome", "failure")], factory: factory)
        configGeneration = Meter(label: "bearer_proxy_config_generation", factory: factory)
        let unrouted = RequestMetrics(route: "none", factory: factory)
        self.unrouted = unrouted
        byRoute = Locked(["none": unrouted])
    }

    /// The request metrics of the route labelled `label` (its name or index).
    func requests(route label: String) -> RequestMetrics {
        let factory = self.factory
        return Self.handles(in: byRoute, for: label) { RequestMetrics(route: label, factory: factory) }
    }

    /// The shared-cache metrics of the profile `name`, kept across reloads like the others.
    func sharedCache(profile name: String) -> SharedCacheMetrics {
        let factory = self.factory
        return Self.handles(in: sharedCaches, for: name) { SharedCacheMetrics(profile: name, factory: factory) }
    }

    /// The handles kept under `key`, made by `make` the first time.
    private static func handles<T: Sendable>(in table: Locked<[String: T]>, for key: String, make: () -> T) -> T {
        table.withLock { known in
            if let existing = known[key] { return existing }
            let made = make()
            known[key] = made
            return made
        }
    }

    /// The index of `method` in `methods`, compared on bytes (no String is made per request).
    static func methodIndex(_ method: ArraySlice<UInt8>) -> Int {
        method.withUnsafeBytes { bytes in
            for (index, name) in methodBytes.enumerated() where name.count == bytes.count {
                if name.withUnsafeBytes({ $0.elementsEqual(bytes) }) { return index }
            }
            return methods.count - 1
        }
    }

    /// `methods` but the last ("other"), as bytes, for `methodIndex`.
    private static let methodBytes = methods.dropLast().map { Array($0.utf8) }

    /// Copies values owned by others into their gauges and counters; called before each scrape.
    func refresh(profiles: [(name: String, reading: TokenMetrics.Reading)], generation: Int) {
        configGeneration.set(generation)
        let factory = self.factory
        for (name, reading) in profiles {
            let metrics = Self.handles(in: byProfile, for: name) { TokenMetrics(profile: name, factory: factory) }
            metrics.refresh(reading)
        }
    }

    /// Request and upstream times on a loopback sidecar: sub-millisecond to the response timeout.
    static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// The Prometheus text exposition (format 0.0.4) of every metric: the registry's, then the
    /// duration histograms the loops record into (`LoopHistogram`), one family after the other.
    public func exposition() -> [UInt8] {
        var out = registry.emitToBuffer()
        let routes = byRoute.withLock { $0.sorted { $0.key < $1.key }.map(\.value) }
        for family in [\RequestMetrics.requestDuration, \RequestMetrics.upstreamDuration] {
            guard let first = routes.first else { break }
            out.append(contentsOf: "# TYPE \(first[keyPath: family].name) histogram\n".utf8)
            for route in routes { route[keyPath: family].emit(into: &out) }
        }
        return out
    }

    /// A label value as the text format quotes it: backslash, double quote and line feed escaped.
    static func escapedLabelValue(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// The request metrics of one route (`route` label), used by every loop.
final class RequestMetrics: Sendable {
    private let requestCounters: [CoreMetrics.Counter]
    let requestDuration: LoopHistogram
    let upstreamDuration: LoopHistogram
    let bytesIn: CoreMetrics.Counter
    let bytesOut: CoreMetrics.Counter
    /// This route's upstream pools (all loops): open connections (in use or idle), idle ones,
    /// connections opened, TLS handshakes that failed.
    let upstreamOpen: CoreMetrics.Meter
    let upstreamIdle: CoreMetrics.Meter
    let upstreamCreated: CoreMetrics.Counter
    let upstreamTLSFailures: CoreMetrics.Counter

    init(route: String, factory: PrometheusMetricsFactory) {
        var counters: [CoreMetrics.Counter] = []
        for method in ProxyMetrics.methods {
            for statusClass in ProxyMetrics.statusClasses {
                counters.append(Counter(label: "bearer_proxy_requests_total",
                                        dimensions: [("route", route), ("method", method), ("status_class", statusClass)], factory: factory))
            }
        }
        requestCounters = counters
        let labels = "route=\"\(ProxyMetrics.escapedLabelValue(route))\""
        requestDuration = LoopHistogram(name: "bearer_proxy_request_duration_seconds", labels: labels,
                                        bounds: ProxyMetrics.durationBuckets)
        upstreamDuration = LoopHistogram(name: "bearer_proxy_upstream_duration_seconds", labels: labels,
                                         bounds: ProxyMetrics.durationBuckets)
        bytesIn = Counter(label: "bearer_proxy_request_body_bytes_total", dimensions: [("route", route)], factory: factory)
        bytesOut = Counter(label: "bearer_proxy_response_body_bytes_total", dimensions: [("route", route)], factory: factory)
        upstreamOpen = Meter(label: "bearer_proxy_route_upstream_open_connections", dimensions: [("route", route)], factory: factory)
        upstreamIdle = Meter(label: "bearer_proxy_route_upstream_idle_connections", dimensions: [("route", route)], factory: factory)
        upstreamCreated = Counter(label: "bearer_proxy_route_upstream_connections_created_total", dimensions: [("route", route)], factory: factory)
        upstreamTLSFailures = Counter(label: "bearer_proxy_route_upstream_tls_failures_total", dimensions: [("route", route)], factory: factory)
    }

    /// Counts one finished request. Called once per request, on its loop.
    /// `shard`: the recording loop's index (`LoopHistogram`).
    func record(methodIndex: Int, status: Int, durationNanoseconds: UInt64, upstreamNanoseconds: UInt64?,
                bytesIn inBytes: Int, bytesOut outBytes: Int, shard: Int = 0) {
        let classes = ProxyMetrics.statusClasses.count
        let statusClass = (100...599).contains(status) ? status / 100 - 1 : classes - 1
        requestCounters[methodIndex * classes + statusClass].increment()
        requestDuration.record(nanoseconds: durationNanoseconds, shard: shard)
        if let upstreamNanoseconds { upstreamDuration.record(nanoseconds: upstreamNanoseconds, shard: shard) }
        if inBytes > 0 { bytesIn.increment(by: inBytes) }
        if outBytes > 0 { bytesOut.increment(by: outBytes) }
    }
}

/// The token metrics of one profile (`profile` label).
/// Sendable: handles are thread-safe; the counts already exported are behind `exported`.
final class TokenMetrics: Sendable {
    private let fetchSuccesses: CoreMetrics.Counter
    private let fetchFailures: CoreMetrics.Counter
    private let secondsUntilExpiry: CoreMetrics.Meter
    private let valid: CoreMetrics.Meter
    /// Fetch counts already exported, and of which provider: a reload that changes the profile
    /// brings a new provider whose counts start again at zero.
    private let exported = Locked<(provider: ObjectIdentifier?, succeeded: Int, failed: Int)>((nil, 0, 0))

    init(profile: String, factory: PrometheusMetricsFactory) {
        fetchSuccesses = Counter(label: "bearer_proxy_token_fetches_total", dimensions: [("profile", profile), ("outcome", "success")], factory: factory)
        fetchFailures = Counter(label: "bearer_proxy_token_fetches_total", dimensions: [("profile", profile), ("outcome", "failure")], factory: factory)
        secondsUntilExpiry = Meter(label: "bearer_proxy_token_seconds_until_expiry", dimensions: [("profile", profile)], factory: factory)
        valid = Meter(label: "bearer_proxy_token_valid", dimensions: [("profile", profile)], factory: factory)
    }

    /// What a profile's token source reports at a scrape (the token layer fills it in).
    struct Reading: Sendable {
        /// Which token provider: a new one starts its counts again at zero.
        var source: ObjectIdentifier
        var valid: Bool
        var secondsUntilExpiry: Double
        var fetchesSucceeded: Int
        var fetchesFailed: Int
    }

    func refresh(_ reading: Reading) {
        valid.set(reading.valid ? 1 : 0)
        secondsUntilExpiry.set(max(0, reading.secondsUntilExpiry))
        let (newSucceeded, newFailed) = exported.withLock { seen in
            if seen.provider != reading.source { seen = (reading.source, 0, 0) }
            let delta = (reading.fetchesSucceeded - seen.succeeded, reading.fetchesFailed - seen.failed)
            seen.succeeded = reading.fetchesSucceeded
            seen.failed = reading.fetchesFailed
            return delta
        }
        if newSucceeded > 0 { fetchSuccesses.increment(by: newSucceeded) }
        if newFailed > 0 { fetchFailures.increment(by: newFailed) }
    }
}

/// Upstream pool metrics, shared by the pools of all loops.
final class PoolMetrics: Sendable {
    let created: CoreMetrics.Counter
    let reused: CoreMetrics.Counter
    let idle: CoreMetrics.Meter
    let capacity: CoreMetrics.Meter
    let tls: TLSHandshakeMetrics

    init(factory: PrometheusMetricsFactory) {
        created = Counter(label: "bearer_proxy_upstream_connections_created_total", factory: factory)
        reused = Counter(label: "bearer_proxy_upstream_connections_reused_total", factory: factory)
        idle = Meter(label: "bearer_proxy_upstream_pool_idle_connections", factory: factory)
        capacity = Meter(label: "bearer_proxy_upstream_pool_capacity", factory: factory)
        tls = TLSHandshakeMetrics(peer: "upstream", factory: factory)
    }
}

/// TLS handshakes with one kind of peer (`upstream` or `token`): successes, and failures by reason.
final class TLSHandshakeMetrics: Sendable {
    private let successes: CoreMetrics.Counter
    /// One counter per `TLSError.Kind`, in `kinds` order.
    private let failures: [CoreMetrics.Counter]
    private static let kinds: [(TLSError.Kind, String)] = [
        (.verificationFailed, "verification_failed"), (.handshakeFailed, "handshake_failed"),
        (.protocolError, "protocol_error"), (.configuration, "configuration"), (.io, "io"),
    ]

    init(peer: String, factory: PrometheusMetricsFactory) {
        successes = Counter(label: "bearer_proxy_tls_handshakes_total", dimensions: [("peer", peer), ("outcome", "success")], factory: factory)
        failures = Self.kinds.map { _, reason in
            Counter(label: "bearer_proxy_tls_handshake_failures_total", dimensions: [("peer", peer), ("reason", reason)], factory: factory)
        }
    }

    func succeeded() { successes.increment() }

    func failed(_ kind: TLSError.Kind) {
        if let index = Self.kinds.firstIndex(where: { $0.0 == kind }) { failures[index].increment() }
    }
}
