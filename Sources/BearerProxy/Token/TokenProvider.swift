import Dispatch
import Foundation
import Logging
import Synchronization

/// Time as the token cache sees it; injected so tests need no sleeps.
struct TokenClock: Sendable {
    /// Monotonic nanoseconds, for expiry and refresh times.
    var uptimeNanoseconds: @Sendable () -> UInt64
    /// Seconds since 1970, only to read a JWT `exp` claim.
    var secondsSince1970: @Sendable () -> Double

    static let system = TokenClock(
        uptimeNanoseconds: { DispatchTime.now().uptimeNanoseconds },
        secondsSince1970: { Date().timeIntervalSince1970 }
    )
}

/// Keeps one valid token and hands it out.
///
/// - Reuse: a token is used until `expiresAt`; from `refreshAt` (expiry minus the margin) a new
///   one is fetched in the background while callers go on with the current one.
/// - Single flight: however many callers find no valid token, one fetch runs; they all wait for it.
/// - Backoff: after a failure, callers without a valid token fail at once (503) until the backoff
///   passes, so a down or rejecting endpoint is not hammered.
/// All state is behind one mutex; callers are answered on their own loop.
final class TokenProvider: Sendable {
    typealias Completion = @Sendable (Result<AccessToken, TokenError>) -> Void

    struct Policy: Sendable {
        /// nil: min(60 s, 10% of the lifetime).
        var refreshMargin: Duration?
        /// Lifetime of a token whose answer has no expires_in and which is not a JWT with `exp`.
        var defaultLifetime: Duration
        var minimumBackoff: Duration = .seconds(1)
        var maximumBackoff: Duration = .seconds(30)
        /// Fetch again at `refreshAt` even when no request comes (keeps readiness true when idle).
        var refreshProactively = true
    }

    struct Status: Sendable {
        var hasValidToken: Bool
        var secondsUntilExpiry: Double?
        var lastFailure: String?
        var fetches: Int
        /// Finished fetches by outcome, for the token fetch metrics.
        var fetchOutcomes: (succeeded: Int, failed: Int) = (0, 0)
    }

    private struct State {
        var token: AccessToken?
        var fetching = false
        var waiters: [(loop: EventLoop, completion: Completion)] = []
        var lastFailure: TokenError?
        var consecutiveFailures = 0
        var retryNotBefore: UInt64 = 0
        var fetches = 0
        var fetchOutcomes: (succeeded: Int, failed: Int) = (0, 0)
    }

    private let fetcher: any TokenFetching
    private let clock: TokenClock
    private let policy: Policy
    private let logger: Logger
    private let state = Mutex(State())
    private let timerQueue = DispatchQueue(label: "bearer-proxy.token-timer")

    init(fetcher: any TokenFetching, policy: Policy, clock: TokenClock = .system, logger: Logger) {
        self.fetcher = fetcher
        self.policy = policy
        self.clock = clock
        self.logger = logger
    }

    /// Answers with a valid token: at once (before returning) when one is cached, otherwise on
    /// `loop` once the fetch in flight ends.
    func token(on loop: EventLoop, _ completion: @escaping Completion) {
        enum Decision {
            case ready(AccessToken, refresh: Bool)
            case fail(TokenError)
            case wait(fetch: Bool)
        }
        let now = clock.uptimeNanoseconds()
        let decision: Decision = state.withLock { state in
            if let token = state.token, now < token.expiresAt {
                let refresh = now >= token.refreshAt && !state.fetching && now >= state.retryNotBefore
                if refresh { state.fetching = true }
                return .ready(token, refresh: refresh)
            }
            if now < state.retryNotBefore, let failure = state.lastFailure {
                let seconds = Int((state.retryNotBefore - now + 999_999_999) / 1_000_000_000)
                return .fail(.backingOff(lastFailure: failure.description, retryAfterSeconds: seconds))
            }
            state.waiters.append((loop, completion))
            if state.fetching { return .wait(fetch: false) }
            state.fetching = true
            return .wait(fetch: true)
        }
        switch decision {
        case .ready(let token, let refresh):
            completion(.success(token))
            if refresh { startFetch(reason: "refresh") }
        case .fail(let error):
            completion(.failure(error))
        case .wait(let fetch):
            if fetch { startFetch(reason: "no valid token") }
        }
    }

    /// Starts a fetch when the cached token is due for refresh (timer entry point).
    func refreshIfDue() {
        let now = clock.uptimeNanoseconds()
        let start: Bool = state.withLock { state in
            guard !state.fetching, now >= state.retryNotBefore else { return false }
            if let token = state.token, now < token.refreshAt { return false }
            state.fetching = true
            return true
        }
        if start { startFetch(reason: "refresh") }
    }

    var status: Status {
        let now = clock.uptimeNanoseconds()
        return state.withLock { state in
            let valid = state.token.map { now < $0.expiresAt } ?? false
            let remaining = state.token.map { Double(Int64($0.expiresAt) - Int64(now)) / 1e9 }
            return Status(hasValidToken: valid, secondsUntilExpiry: valid ? remaining : nil,
                          lastFailure: state.lastFailure?.description, fetches: state.fetches,
                          fetchOutcomes: state.fetchOutcomes)
        }
    }

    private func startFetch(reason: String) {
        let started = clock.uptimeNanoseconds()
        state.withLock { $0.fetches += 1 }
        logger.debug("fetching token", metadata: ["reason": "\(reason)"])
        fetcher.fetch { [self] result in
            finishFetch(result.flatMap { grant in makeToken(grant, fetchedAt: started) })
        }
    }

    private func makeToken(_ grant: TokenGrant, fetchedAt started: UInt64) -> Result<AccessToken, TokenError> {
        var lifetime = policy.defaultLifetime
        if let expiresIn = grant.expiresIn {
            lifetime = expiresIn
        } else if let exp = TokenGrant.jwtExpiry(grant.accessToken) {
            lifetime = .milliseconds(Int64((exp - clock.secondsSince1970()) * 1000))
        }
        guard lifetime > .zero else {
            return .failure(.invalidResponse("token is already expired"))
        }
        let lifetimeNanos = Self.nanoseconds(lifetime)
        let margin = policy.refreshMargin.map(Self.nanoseconds) ?? min(60_000_000_000, lifetimeNanos / 10)
        // Lifetimes count from when we asked, not from when the answer arrived: the server's clock
        // started before the network round trip, so this errs on the side of refreshing early.
        let expiresAt = started &+ lifetimeNanos
        let refreshAt = expiresAt &- min(margin, lifetimeNanos)
        let headerValue = Array("Bearer \(grant.accessToken)".utf8)
        return .success(AccessToken(headerValue: headerValue, expiresAt: expiresAt, refreshAt: refreshAt, lifetime: lifetime, scope: grant.scope))
    }

    private func finishFetch(_ result: Result<AccessToken, TokenError>) {
        let now = clock.uptimeNanoseconds()
        var nextCheck: UInt64?
        let waiters: [(loop: EventLoop, completion: Completion)] = state.withLock { state in
            state.fetching = false
            switch result {
            case .success(let token):
                state.token = token
                state.lastFailure = nil
                state.consecutiveFailures = 0
                state.retryNotBefore = 0
                state.fetchOutcomes.succeeded += 1
                nextCheck = token.refreshAt
            case .failure(let error):
                state.lastFailure = error
                state.consecutiveFailures += 1
                state.fetchOutcomes.failed += 1
                let backoff = min(Self.nanoseconds(policy.maximumBackoff),
                                  Self.nanoseconds(policy.minimumBackoff) << UInt64(min(state.consecutiveFailures - 1, 16)))
                state.retryNotBefore = now &+ backoff
                // With a still-valid token, keep trying in the background before it runs out.
                if let token = state.token, now < token.expiresAt { nextCheck = state.retryNotBefore }
            }
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        switch result {
        case .success(let token):
            logger.info("token fetched", metadata: [
                "expires_in": "\(token.lifetime)",
                "scope": "\(token.scope ?? "-")",
            ])
        case .failure(let error):
            logger.error("token fetch failed", metadata: ["reason": "\(error)", "waiting_requests": "\(waiters.count)"])
        }
        for waiter in waiters {
            waiter.loop.execute { waiter.completion(result) }
        }
        if policy.refreshProactively, let nextCheck {
            let delay = nextCheck > now ? nextCheck - now : 0
            timerQueue.asyncAfter(deadline: .now() + .nanoseconds(Int(min(delay, UInt64(Int.max))))) { [weak self] in
                self?.refreshIfDue()
            }
        }
    }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
