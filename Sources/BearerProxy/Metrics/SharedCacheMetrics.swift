import CoreMetrics

/// What the shared token cache of one profile did (`profile` label), counted as it happens.
/// Sendable: metric handles are thread-safe.
final class SharedCacheMetrics: Sendable {
    /// A fresh token was read from Redis instead of fetched.
    let hits: CoreMetrics.Counter
    /// None, stale, rejected or unreadable: a lease is tried.
    let misses: CoreMetrics.Counter
    let leasesWon: CoreMetrics.Counter
    /// Another replica held the lease: this one waited.
    let leasesLost: CoreMetrics.Counter
    /// The wait ended with the holder's token.
    let waitHits: CoreMetrics.Counter
    /// The wait ran out (the token timeout): fetched alone.
    let waitTimeouts: CoreMetrics.Counter
    /// Fetched without the cache: Redis failed or the wait ran out.
    let bypassed: CoreMetrics.Counter
    let stored: CoreMetrics.Counter
    /// A token the upstream rejected was deleted from Redis.
    let discarded: CoreMetrics.Counter
    /// A value that did not open with key_file, or is not a token entry.
    let undecryptable: CoreMetrics.Counter
    private let errors: [String: CoreMetrics.Counter]
    let reachable: CoreMetrics.Meter

    static let errorKinds = ["unreachable", "timeout", "refused", "auth", "protocol", "closed"]

    init(profile: String, factory: any MetricsFactory) {
        func event(_ name: String) -> CoreMetrics.Counter {
            Counter(label: "bearer_proxy_shared_cache_events_total", dimensions: [("profile", profile), ("event", name)], factory: factory)
        }
        hits = event("hit")
        misses = event("miss")
        leasesWon = event("lease_won")
        leasesLost = event("lease_lost")
        waitHits = event("wait_hit")
        waitTimeouts = event("wait_timeout")
        bypassed = event("bypass")
        stored = event("stored")
        discarded = event("discarded")
        undecryptable = event("undecryptable")
        errors = Dictionary(uniqueKeysWithValues: Self.errorKinds.map { kind in
            (kind, Counter(label: "bearer_proxy_shared_cache_errors_total", dimensions: [("profile", profile), ("kind", kind)], factory: factory))
        })
        reachable = Meter(label: "bearer_proxy_shared_cache_reachable", dimensions: [("profile", profile)], factory: factory)
    }

    /// A Redis failure of `kind` (one of `errorKinds`); `serverAnswered`: it refused a command,
    /// so it is there.
    func failed(kind: String, serverAnswered: Bool) {
        errors[kind]?.increment()
        if !serverAnswered { reachable.set(0) }
    }

    /// Redis answers (again).
    func recovered() {
        reachable.set(1)
    }
}
