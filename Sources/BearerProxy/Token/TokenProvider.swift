import Dispatch
import Logging
import BearerSync
import Synchronization

/// Keeps one valid token and hands it out.
///
/// - Reuse: a token is used until `expiresAt`; from `refreshAt` (expiry minus the margin, minus a
///   little jitter) a new one is fetched in the background while callers go on with the current one.
/// - Single flight: however many callers find no valid token, one fetch runs; they all wait for it.
/// - Backoff: after a failure, callers without a valid token fail at once (503 with Retry-After)
///   until the backoff passes, so a down or rejecting endpoint costs one request per backoff step.
/// - Minimum interval: upstream 401s (`invalidate`) and credential rotation never start token
///   requests closer together than `Policy.minimumInterval`.
/// All state is behind one mutex; callers are answered on their own loop.
final class TokenProvider: Sendable {
    typealias Completion = @Sendable (Result<AccessToken, TokenError>) -> Void

    private struct State {
        var token: AccessToken?
        var fetching = false
        var waiters: [(loop: EventLoop, completion: Completion)] = []
        var lastFailure: TokenError?
        var consecutiveFailures = 0
        var retryNotBefore: UInt64 = 0
        /// Uptime when the last token request started; nil before the first.
        var lastFetchStarted: UInt64?
        /// A refresh was asked for (rotation, rejected token) and has not started yet.
        var refreshRequested = false
        var skewWarned = false
        /// A reload replaced this provider: it no longer refreshes on its own (see `retire`).
        var retired = false
        /// When a rejected-but-kept token was last reported at warning level (0: never).
        var lastKeptRejectionWarning: UInt64 = 0
        /// When the last fetch ended (seconds since 1970) and whether it brought a token.
        var lastFetchEnded: (at: Double, succeeded: Bool)?
        var counters = Status(hasValidToken: false, fetches: 0)

        /// Refresh time reached (or no token), or a requested refresh allowed by the minimum
        /// interval; never during a backoff. The minimum interval limits only requested refreshes:
        /// the backoff schedule has its own, shorter steps.
        func isDue(token: AccessToken?, at now: UInt64, _ policy: Policy) -> Bool {
            guard now >= retryNotBefore else { return false }
            if token.map({ now >= $0.refreshAt }) ?? true { return true }
            return refreshRequested && now >= earliestNextFetch(policy)
        }

        func earliestNextFetch(_ policy: Policy) -> UInt64 {
            let interval = lastFetchStarted.map { $0 &+ TokenProvider.nanoseconds(policy.minimumInterval) } ?? 0
            return max(interval, retryNotBefore)
        }
    }

    private let fetcher: any TokenFetching
    private let clock: TokenClock
    private let policy: Policy
    private let logger: Logger
    private let random: @Sendable () -> Double
    private let scheduler: TokenScheduler
    private let state = Locked(State())
    /// Moves (inside the lock, after the change) whenever a token taken earlier may no longer be
    /// the answer: a new token, a dropped one, a refresh asked for. `LoopCache` compares it.
    private let generation = Atomic<UInt64>(0)

    /// What one loop keeps of the current token, so that most requests take it without the lock
    /// every loop shares: valid while the provider's generation has not moved and the token's
    /// refresh time has not come (from then on, the locked path decides when to refresh).
    /// Used only on its loop's queue.
    struct LoopCache {
        fileprivate var token: AccessToken?
        fileprivate var generation: UInt64 = 0
        init() {}
    }

    /// `random` returns values in 0..<1 (jitter); `scheduler` runs the refresh timer.
    init(
        fetcher: any TokenFetching, policy: Policy, clock: TokenClock = .system, logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        scheduler: TokenScheduler = .dispatch(on: DispatchQueue(label: "bearer-proxy.token-timer"))
    ) {
        self.fetcher = fetcher
        self.policy = policy
        self.clock = clock
        self.logger = logger
        self.random = random
        self.scheduler = scheduler
    }

    /// Answers with a valid token: at once (before returning) when one is cached, otherwise on
    /// `loop` once the fetch in flight ends, or at once with `.backingOff` after a recent failure.
    func token(on loop: EventLoop, _ completion: @escaping Completion) {
        if let answer = answer(at: clock.uptimeNanoseconds(), waiter: (loop, completion)).answer { completion(answer) }
    }

    /// The answer `token(on:)` gives at once, without a completion to keep: nil when the caller
    /// must wait for a fetch (it then calls `token(on:)`). The request path's common case, which
    /// costs no closure.
    func tokenIfReady() -> Result<AccessToken, TokenError>? {
        answer(at: clock.uptimeNanoseconds(), waiter: nil).answer
    }

    /// `tokenIfReady()` through a loop's cache.
    func tokenIfReady(cache: inout LoopCache) -> Result<AccessToken, TokenError>? {
        let now = clock.uptimeNanoseconds()
        let current = generation.load(ordering: .acquiring)
        if let token = cache.token, cache.generation == current, now < token.refreshAt {
            return .success(token)
        }
        let (answer, cacheable) = answer(at: now, waiter: nil)
        if cacheable, case .success(let token)? = answer {
            cache.token = token
            cache.generation = current
        } else {
            cache.token = nil
        }
        return answer
    }

    /// `state.withLock`, then the generation moves: for every change after which a cached token
    /// may no longer be the answer.
    private func change<T>(_ body: (inout State) -> T) -> T {
        state.withLock { state in
            let result = body(&state)
            generation.add(1, ordering: .releasing)
            return result
        }
    }

    /// A cached token (starting a refresh when one is due), the backoff's failure, or nil after
    /// adding `waiter` to those of the fetch in flight (starting one if none runs). Without a
    /// waiter, nil changes nothing.
    /// `cacheable`: a ready token that a loop may keep until its refresh time (no refresh asked for).
    private func answer(at now: UInt64, waiter: (loop: EventLoop, completion: Completion)?)
        -> (answer: Result<AccessToken, TokenError>?, cacheable: Bool) {
        enum Decision {
            case ready(AccessToken, refresh: Bool, cacheable: Bool)
            case fail(TokenError)
            case wait(fetch: Bool)
        }
        let decision: Decision = state.withLock { state in
            if let token = state.token, now < token.expiresAt {
                let refresh = !state.fetching && !state.retired && state.isDue(token: token, at: now, policy)
                if refresh { Self.begin(&state, at: now) }
                return .ready(token, refresh: refresh, cacheable: !refresh && !state.refreshRequested)
            }
            if now < state.retryNotBefore, let failure = state.lastFailure {
                return .fail(.backingOff(lastFailure: failure.description,
                                         retryAfterSeconds: Self.wholeSecondsUp(state.retryNotBefore - now)))
            }
            guard let waiter else { return .wait(fetch: false) }
            state.waiters.append(waiter)
            if state.fetching { return .wait(fetch: false) }
            Self.begin(&state, at: now)
            return .wait(fetch: true)
        }
        switch decision {
        case .ready(let token, let refresh, let cacheable):
            if refresh { startFetch(reason: "refresh", at: now) }
            return (.success(token), cacheable)
        case .fail(let error):
            return (.failure(error), false)
        case .wait(let fetch):
            if fetch { startFetch(reason: "no valid token", at: now) }
            return (nil, false)
        }
    }

    /// The upstream rejected `token` (401 invalid_token). Drops it only if it is still the current
    /// token, and starts a new fetch unless the minimum interval or a backoff forbids it.
    func invalidate(_ token: AccessToken) -> Invalidation {
        let now = clock.uptimeNanoseconds()
        var schedule: UInt64?
        var startNow = false
        var warn = false
        let outcome: Invalidation = change { state in
            guard let current = state.token, current.headerValue == token.headerValue else {
                return .alreadyReplaced
            }
            if state.fetching {
                // A refresh is already on its way: callers wait for it instead of using a bad token.
                state.token = nil
                state.counters.invalidations += 1
                return .refreshing
            }
            let earliest = state.earliestNextFetch(policy)
            if now < earliest {
                state.refreshRequested = true
                schedule = earliest
                // A storm of 401s is one warning per interval, not one per request.
                let quiet = max(Self.nanoseconds(policy.minimumInterval), 1_000_000_000)
                if state.lastKeptRejectionWarning == 0 || now &- state.lastKeptRejectionWarning >= quiet {
                    state.lastKeptRejectionWarning = now
                    warn = true
                }
                return .tooSoon
            }
            state.token = nil
            state.counters.invalidations += 1
            Self.begin(&state, at: now)
            startNow = true
            return .refreshing
        }
        switch outcome {
        case .refreshing:
            logger.notice("upstream rejected the token; fetching a new one")
            fetcher.rejected(token)
            if startNow { startFetch(reason: "upstream rejected token", at: now) }
        case .tooSoon:
            let message: Logger.Message = "upstream rejected the token, but the last token request is too recent; keeping it for now"
            if warn { logger.warning(message) } else { logger.debug(message) }
        case .alreadyReplaced:
            break
        }
        if let schedule { scheduleCheck(at: schedule, now: now) }
        return outcome
    }

    /// A reload replaced this provider with another. From now on it fetches only when a request
    /// still in flight on the old configuration finds no valid token: no timer refreshes, no
    /// refresh ahead of expiry, no reaction to credential files. So a retired configuration stops
    /// asking the token endpoint as soon as no request uses it.
    func retire() {
        change { $0.retired = true }
        fetcher.retire()
        logger.debug("token provider retired by a reload")
    }

    /// The secret or key changed on disk: fetch a new token with it as soon as allowed, without
    /// waiting for the current one to expire. A pending backoff from a rejection no longer applies.
    func credentialsChanged() {
        let now = clock.uptimeNanoseconds()
        change { state in
            state.refreshRequested = true
            state.retryNotBefore = 0
            state.consecutiveFailures = 0
        }
        logger.info("client credentials changed; fetching a new token")
        refreshIfDue()
        let next = state.withLock { $0.refreshRequested ? $0.earliestNextFetch(policy) : nil }
        if let next { scheduleCheck(at: next, now: now) }
    }

    /// Starts a fetch when the cached token is due for refresh, missing, or a refresh was asked
    /// for, and no rule forbids it yet (timer entry point).
    func refreshIfDue() {
        let now = clock.uptimeNanoseconds()
        let start: Bool = state.withLock { state in
            guard !state.retired, !state.fetching, state.isDue(token: state.token, at: now, policy) else { return false }
            Self.begin(&state, at: now)
            return true
        }
        if start { startFetch(reason: "refresh", at: now) }
    }

    var status: Status {
        let now = clock.uptimeNanoseconds()
        return state.withLock { state in
            var status = state.counters
            let valid = state.token.map { now < $0.expiresAt } ?? false
            status.hasValidToken = valid
            status.secondsUntilExpiry = valid ? state.token.map { Double($0.expiresAt - now) / 1e9 } : nil
            status.lastFailure = state.lastFailure?.description
            status.fetching = state.fetching
            if valid, let token = state.token {
                status.secondsUntilRefresh = token.refreshAt > now ? Double(token.refreshAt - now) / 1e9 : 0
                status.lifetimeSeconds = Double(TokenProvider.nanoseconds(token.lifetime)) / 1e9
                status.jwtID = token.jwtID
                status.scope = token.scope
            }
            if state.lastFailure != nil, state.retryNotBefore > now { status.secondsUntilRetry = Double(state.retryNotBefore - now) / 1e9 }
            status.lastFetchEndedAt = state.lastFetchEnded?.at
            status.lastFetchSucceeded = state.lastFetchEnded?.succeeded
            return status
        }
    }

    private static func begin(_ state: inout State, at now: UInt64) {
        state.fetching = true
        state.refreshRequested = false
        state.lastFetchStarted = now
        state.counters.fetches += 1
    }

    private func startFetch(reason: String, at started: UInt64) {
        logger.debug("fetching token", metadata: ["reason": "\(reason)"])
        fetcher.fetch { [self] result in
            finishFetch(result.flatMap { grant in makeToken(grant, fetchedAt: started) })
        }
    }

    private func makeToken(_ grant: TokenGrant, fetchedAt started: UInt64) -> Result<AccessToken, TokenError> {
        warnAboutClockSkew(grant)
        let lifetime: Duration
        let source: TokenLifetime.Source
        if let shared = grant.shared {
            (lifetime, source) = (shared.lifetime, shared.source)
        } else {
            switch TokenLifetime.of(grant, defaultLifetime: policy.defaultLifetime, now: clock.secondsSince1970()) {
            case .failure(let error): return .failure(error)
            case .success(let value): (lifetime, source) = value
            }
        }
        if let ignored = grant.ignoredExpiresIn {
            logger.warning("token endpoint sent an expires_in that is no positive number of seconds; ignored", metadata: [
                "expires_in": "\(ignored)",
                "lifetime_used": "\(lifetime)",
                "lifetime_from": "\(source == .defaultLifetime ? "token.default_lifetime" : source.rawValue)",
            ])
        }
        let lifetimeNanos = Self.nanoseconds(lifetime)
        let margin = policy.margin(forLifetime: lifetimeNanos)
        let jitter = UInt64(Double(margin) * policy.refreshJitter * random())
        // Lifetimes count from when we asked, not from when the answer arrived: the server's clock
        // started before the network round trip, so this errs on the side of refreshing early.
        // A shared token counts from when it was read, with what was left of it then.
        let expiresAt = started &+ (grant.shared.map { Self.nanoseconds($0.remaining) } ?? lifetimeNanos)
        // A token is used for at least half its lifetime: a margin (with jitter) as long as the
        // lifetime would make every new token due at once and the timer ask again without pause.
        let refreshAt = expiresAt &- min(margin &+ jitter, lifetimeNanos / 2)
        let headerValue = Array("\(grant.isDPoP ? "DPoP" : "Bearer") \(grant.accessToken)".utf8)
        return .success(AccessToken(headerValue: headerValue, expiresAt: expiresAt, refreshAt: refreshAt, lifetime: lifetime,
                                    lifetimeSource: source, scope: grant.scope,
                                    proofHash: grant.isDPoP ? DPoPProver.accessTokenHash(grant.accessToken) : nil,
                                    fromSharedCache: grant.shared != nil,
                                    jwtID: JWTInspection(grant.accessToken)?.claims["jti"]?.string.map { String($0.prefix(128)) }))
    }

    /// Expiry uses the local monotonic clock, so skew does not shorten or stretch a token; it is
    /// still worth a warning, because the server will judge our client assertions by its clock.
    private func warnAboutClockSkew(_ grant: TokenGrant) {
        let now = clock.secondsSince1970()
        let limit = Double(Self.nanoseconds(policy.clockSkewWarning)) / 1e9
        let skews = [("date_header", grant.serverDate), ("jwt_iat", grant.issuedAt)].compactMap { name, time in
            time.map { (name, $0 - now) }
        }
        guard let (source, skew) = skews.first(where: { abs($0.1) > limit }) else { return }
        let first = state.withLock { state in
            defer { state.skewWarned = true }
            return !state.skewWarned
        }
        if first {
            logger.warning("token endpoint clock differs from the local clock", metadata: [
                // A Double: an absurd iat (1e19) must not trap in an Int conversion.
                "source": "\(source)", "skew_seconds": "\(skew.rounded())",
            ])
        }
    }

    private func finishFetch(_ result: Result<AccessToken, TokenError>) {
        let now = clock.uptimeNanoseconds()
        var nextCheck: UInt64?
        // What waiting callers get: on failure, the backoff as it will be told to later callers, so
        // their Retry-After is the real wait (a server's Retry-After: 120 included), not 1 s.
        var delivered = result
        let ended = clock.secondsSince1970()
        let waiters: [(loop: EventLoop, completion: Completion)] = change { state in
            state.fetching = false
            state.lastFetchEnded = (ended, (try? result.get()) != nil)
            switch result {
            case .success(let token):
                state.token = token
                state.lastFailure = nil
                state.consecutiveFailures = 0
                state.retryNotBefore = 0
                state.counters.fetchesSucceeded += 1
                nextCheck = state.refreshRequested ? state.earliestNextFetch(policy) : token.refreshAt
            case .failure(let error):
                state.lastFailure = error
                state.consecutiveFailures += 1
                if error.kind == .configuration {
                    state.counters.fetchesFailedConfiguration += 1
                } else {
                    state.counters.fetchesFailedTransient += 1
                }
                let backoff = Self.backoff(after: error, failures: state.consecutiveFailures, policy: policy, random: random())
                state.retryNotBefore = now &+ Self.nanoseconds(backoff)
                delivered = .failure(.backingOff(lastFailure: error.description,
                                                 retryAfterSeconds: Self.wholeSecondsUp(Self.nanoseconds(backoff))))
                // Keep trying in the background: before a still-valid token runs out, or so that an
                // idle proxy becomes ready once the endpoint is back.
                nextCheck = state.retryNotBefore
            }
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        switch result {
        case .success(let token):
            logger.info("token fetched", metadata: [
                "from": "\(token.fromSharedCache ? "shared cache" : "token endpoint")",
                "expires_in": "\(token.lifetime)",
                "lifetime_from": "\(token.lifetimeSource.rawValue)",
                "scope": "\(token.scope ?? "-")",
            ])
        case .failure(let error):
            // A configuration failure carries the server's error and error_description (RFC 6749 §5.2).
            var metadata: Logger.Metadata = [
                "reason": "\(error)",
                "kind": "\(error.kind == .configuration ? "configuration (check the client settings)" : "transient")",
                "waiting_requests": "\(waiters.count)",
            ]
            if let hint = fetcher.hint(for: error) { metadata["hint"] = "\(hint)" }
            logger.error("token fetch failed", metadata: metadata)
        }
        let answer = delivered
        for waiter in waiters {
            waiter.loop.execute { waiter.completion(answer) }
        }
        if let nextCheck { scheduleCheck(at: nextCheck, now: now) }
    }

    private func scheduleCheck(at deadline: UInt64, now: UInt64) {
        guard policy.refreshProactively, !state.withLock({ $0.retired }) else { return }
        scheduler.schedule(deadline > now ? deadline - now : 0) { [weak self] in
            self?.refreshIfDue()
        }
    }
}
