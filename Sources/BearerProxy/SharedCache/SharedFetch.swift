import CoreMetrics
import Dispatch

/// One fetch through the shared cache, from the first `GET` to the token handed to the provider:
/// read, then lease or wait, then fetch. Lives on the cache's loop until `completion` has run
/// (exactly once).
/// @unchecked Sendable: every mutable property is touched only on `cache.loop`'s queue.
final class SharedFetch: @unchecked Sendable {
    typealias Completion = @Sendable (Result<TokenGrant, TokenError>) -> Void

    private let cache: SharedTokenCache
    private let key: SharedCacheKey
    private var completion: Completion?
    private var holder: String?
    /// Uptime after which a waiting replica stops waiting and fetches alone (0: not waiting).
    private var waitDeadline: UInt64 = 0
    private var nextPoll: Duration

    init(cache: SharedTokenCache, key: SharedCacheKey, completion: @escaping Completion) {
        self.cache = cache
        self.key = key
        self.completion = completion
        self.nextPoll = cache.firstPoll
    }

    func start() {
        cache.lookUp(key) { [self] lookup in
            proceed(after: lookup, hit: cache.metrics.hits) { [self] in
                cache.metrics.misses.increment()
                lease()
            }
        }
    }

    /// A fresh token ends the fetch; none (or a stale one) calls `missing`; a Redis failure means
    /// fetching alone.
    private func proceed(after lookup: SharedTokenCache.Lookup, hit: CoreMetrics.Counter, missing: () -> Void) {
        switch lookup {
        case .fresh(let grant):
            hit.increment()
            finish(.success(grant))
        case .missing:
            missing()
        case .unavailable:
            fetchAlone()
        }
    }

    /// Try to become the one replica that asks the endpoint.
    private func lease() {
        let holder = SharedTokenCache.newHolder()
        cache.takeLease(key, holder: holder) { [self] result in
            switch result {
            case .success(true):
                cache.metrics.leasesWon.increment()
                self.holder = holder
                readAgainAsHolder(holder)
            case .success(false):
                if waitDeadline == 0 {
                    cache.metrics.leasesLost.increment()
                    waitDeadline = EventLoop.deadline(after: cache.config.timeout)
                }
                waitForHolder()
            case .failure:
                fetchAlone()
            }
        }
    }

    /// Another replica is fetching: look again shortly, until the token timeout.
    private func waitForHolder() {
        guard EventLoop.now() < waitDeadline else {
            cache.metrics.waitTimeouts.increment()
            fetchAlone()
            return
        }
        let delay = nextPoll
        nextPoll = min(nextPoll * 2, cache.maximumPoll)
        let nanoseconds = Int(TokenProvider.nanoseconds(delay))
        cache.loop.queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in
            cache.lookUp(key) { [self] lookup in
                // Still fetching, or its lease expired (the holder died) or was released after a
                // failure: the lease tells which.
                proceed(after: lookup, hit: cache.metrics.waitHits) { [self] in lease() }
            }
        }
    }

    /// A holder that finished between this replica's read and its lease has stored its token and
    /// released the lease: read once more before asking the endpoint, so that two replicas whose
    /// refreshes fall within one fetch of each other do not both fetch.
    private func readAgainAsHolder(_ holder: String) {
        cache.lookUp(key, recount: false) { [self] lookup in
            if case .fresh(let grant) = lookup {
                cache.metrics.hits.increment()
                finish(.success(grant))
                cache.releaseLease(key, holder: holder)
            } else {
                fetchAsHolder()
            }
        }
    }

    private func fetchAsHolder() {
        let started = cache.clock.secondsSince1970()
        cache.inner.fetch { [self] result in
            cache.loop.execute { [self] in
                // The provider gets the token first; the store and release follow behind it.
                finish(result)
                guard let holder else { return }
                if case .success(let grant) = result {
                    cache.store(grant, started: started, key: key, holder: holder)
                } else {
                    cache.releaseLease(key, holder: holder)
                }
            }
        }
    }

    /// As without the cache: Redis failed, or the holder did not deliver in time.
    private func fetchAlone() {
        cache.metrics.bypassed.increment()
        cache.inner.fetch { [self] result in
            cache.loop.execute { [self] in finish(result) }
        }
    }

    private func finish(_ result: Result<TokenGrant, TokenError>) {
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }
}
