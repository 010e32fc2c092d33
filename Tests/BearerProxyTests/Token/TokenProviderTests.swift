import Foundation
import Testing
@testable import BearerProxy

/// The refresh schedule, single flight, backoff and invalidation, with an injected clock and
/// hand-fired timers: no test sleeps.
@Suite("TokenProvider")
struct TokenProviderTests {
    @Test("1,000 concurrent first callers share exactly one token request")
    func singleFlightBurst() async throws {
        let harness = ProviderHarness()
        DispatchQueue.concurrentPerform(iterations: 1000) { _ in harness.ask() }
        #expect(harness.fetcher.callCount == 1)
        harness.fetcher.answer(.success(TokenFixture.grant("tok-1")))
        #expect(harness.answerTokens == Array(repeating: "tok-1", count: 1000))
        #expect(harness.provider.status.fetches == 1)
    }

    @Test("the token is reused until expiry minus the default margin min(60s, 10%), then refreshed in the background")
    func refreshSchedule() {
        let harness = ProviderHarness()
        harness.warm(lifetime: 300)
        // 10% of 300 s = 30 s before expiry.
        #expect(harness.scheduler.delays == [270_000_000_000])
        harness.clock.advance(.seconds(269))
        harness.ask()
        #expect(harness.fetcher.callCount == 1)
        harness.clock.advance(.seconds(1))
        harness.scheduler.fireAll()
        #expect(harness.fetcher.callCount == 2)
        // While the refresh is in flight, callers get the current token at once.
        harness.ask()
        harness.ask()
        #expect(harness.answerTokens == ["tok-1", "tok-1", "tok-1"])
        #expect(harness.fetcher.callCount == 2)
        harness.fetcher.answer(.success(TokenFixture.grant("tok-2")))
        harness.clearAnswers()
        harness.ask()
        #expect(harness.answerTokens == ["tok-2"])
    }

    @Test("a long lifetime refreshes 60 s before expiry; a configured margin wins")
    func margins() {
        let long = ProviderHarness()
        long.warm(lifetime: 3600)
        #expect(long.scheduler.delays == [3540_000_000_000])
        let configured = ProviderHarness(policy: .init(refreshMargin: .seconds(120), defaultLifetime: .seconds(300)))
        configured.warm(lifetime: 3600)
        #expect(configured.scheduler.delays == [3480_000_000_000])
    }

    @Test("a configured margin as long as the lifetime refreshes at half the lifetime, not in a loop the moment each token arrives")
    func marginLongerThanLifetime() {
        let harness = ProviderHarness(policy: .init(refreshMargin: .seconds(60), defaultLifetime: .seconds(300)), random: 1)
        harness.warm(lifetime: 20)
        #expect(harness.scheduler.delays == [10_000_000_000])
        // The timer firing and callers asking right after the answer start no new request.
        harness.scheduler.fireAll()
        for _ in 0..<10 { harness.ask() }
        #expect(harness.fetcher.callCount == 1)
        #expect(harness.answerTokens == Array(repeating: "tok-1", count: 10))
        harness.clock.advance(.seconds(10))
        harness.ask()
        #expect(harness.fetcher.callCount == 2)
        // The same with the jitter alone pushing a shorter margin past the lifetime (55 s + 20%, 60 s token).
        let jittered = ProviderHarness(policy: .init(refreshMargin: .seconds(55), defaultLifetime: .seconds(300)), random: 1)
        jittered.warm(lifetime: 60)
        #expect(jittered.scheduler.delays == [30_000_000_000])
    }

    @Test("proactive refresh is moved earlier by up to 20% of the margin at random, so many proxies spread out")
    func refreshJitter() {
        let harness = ProviderHarness(random: 0.5)
        harness.warm(lifetime: 3600)
        // margin 60 s + 0.5 × 20% × 60 s = 66 s before expiry.
        #expect(harness.scheduler.delays == [3534_000_000_000])
    }

    @Test("when refresh fails, the current token is still served until it expires, never after")
    func failureKeepsValidToken() {
        let harness = ProviderHarness()
        harness.warm(lifetime: 300)
        harness.clock.advance(.seconds(271))
        harness.ask()
        harness.fetcher.answer(.failure(.unreachable("connection refused")))
        harness.clock.advance(.seconds(28))
        harness.ask()
        #expect(harness.answerTokens == ["tok-1", "tok-1"])
        harness.clearAnswers()
        harness.clock.advance(.seconds(1))
        harness.ask()
        // Expired: the caller is not given the old token; it waits for a new fetch, which fails.
        #expect(harness.answers.isEmpty)
        #expect(harness.fetcher.inFlight == 1)
        harness.fetcher.answer(.failure(.unreachable("connection refused")))
        guard case .failure = harness.answers.first else {
            Issue.record("an expired token was served")
            return
        }
        #expect(!harness.provider.status.hasValidToken)
    }

    @Test("a dead endpoint costs one request per backoff step, not one per caller; callers get 503 with Retry-After")
    func backoffAbsorbsCallers() {
        let harness = ProviderHarness(random: 1)
        harness.ask()
        harness.fetcher.answer(.failure(.unreachable("connection refused")))
        harness.clearAnswers()
        for _ in 0..<100 { harness.ask() }
        #expect(harness.fetcher.callCount == 1)
        let retryAfters = harness.answers.compactMap { result -> Int? in
            if case .failure(.backingOff(_, let seconds)) = result { return seconds }
            return nil
        }
        #expect(retryAfters == Array(repeating: 1, count: 100))
        // The timer retries in the background: 1 s, then 2 s, 4 s ... capped at 30 s.
        var delays: [UInt64] = []
        for _ in 0..<7 {
            delays.append(harness.scheduler.delays.last!)
            harness.clock.advance(.nanoseconds(Int64(harness.scheduler.delays.last!)))
            harness.scheduler.fireAll()
            harness.fetcher.answer(.failure(.rejected(status: 503, error: nil, errorDescription: nil)))
        }
        #expect(delays.map { $0 / 1_000_000_000 } == [1, 2, 4, 8, 16, 30, 30])
        #expect(harness.fetcher.callCount == 8)
        #expect(harness.provider.status.fetchesFailedTransient == 8)
    }

    @Test("backoff has equal jitter: half fixed, half random")
    func backoffJitter() {
        let policy = TokenProvider.Policy(refreshMargin: nil, defaultLifetime: .seconds(300))
        let error = TokenError.unreachable("x")
        #expect(TokenProvider.backoff(after: error, failures: 3, policy: policy, random: 0) == .seconds(2))
        #expect(TokenProvider.backoff(after: error, failures: 3, policy: policy, random: 0.5) == .seconds(3))
        #expect(TokenProvider.backoff(after: error, failures: 3, policy: policy, random: 1) == .seconds(4))
    }

    @Test("invalid_client, unauthorized_client and invalid_scope are configuration errors retried slowly (30 s, then up to 5 min)")
    func configurationErrorsRetrySlowly() {
        for code in ["invalid_client", "unauthorized_client", "invalid_scope"] {
            let error = TokenError.rejected(status: 400, error: code, errorDescription: "no")
            #expect(error.kind == .configuration)
        }
        let harness = ProviderHarness(random: 1)
        harness.ask()
        harness.fetcher.answer(.failure(.rejected(status: 401, error: "invalid_client", errorDescription: "bad secret")))
        #expect(harness.scheduler.delays == [30_000_000_000])
        #expect(harness.provider.status.fetchesFailedConfiguration == 1)
        #expect(harness.provider.status.lastFailure == #"token endpoint answered 401 error=invalid_client error_description="bad secret""#)
    }

    @Test("network failures, 5xx, 429 and malformed bodies (an empty 200 too) are transient")
    func transientClassification() {
        #expect(TokenError.unreachable("refused").kind == .transient)
        #expect(TokenError.rejected(status: 502, error: nil, errorDescription: nil).kind == .transient)
        #expect(TokenError.rejected(status: 429, error: nil, errorDescription: nil).kind == .transient)
        #expect(TokenError.invalidResponse("empty").kind == .transient)
        #expect(throws: TokenError.invalidResponse("body is not a JSON object")) { try TokenGrant.parse([]) }
    }

    @Test("Retry-After from the endpoint stretches the backoff (RFC 9110 §10.2.3), capped at 10 min")
    func retryAfterHonoured() {
        let harness = ProviderHarness()
        harness.ask()
        harness.fetcher.answer(.failure(.rejected(status: 429, error: nil, errorDescription: nil, retryAfterSeconds: 120)))
        #expect(harness.scheduler.delays == [120_000_000_000])
        // The caller that waited for this fetch is told the same wait as everyone after it.
        guard case .failure(let waiterError) = harness.answers.first else { Issue.record("no answer for the waiter"); return }
        #expect(waiterError.retryAfterSeconds == 120)
        harness.clearAnswers()
        harness.ask()
        guard case .failure(let error) = harness.answers.first else { Issue.record("no failure"); return }
        #expect(error.retryAfterSeconds == 120)
        let policy = TokenProvider.Policy(refreshMargin: nil, defaultLifetime: .seconds(300))
        #expect(TokenProvider.backoff(after: .rejected(status: 503, error: nil, errorDescription: nil, retryAfterSeconds: 86400),
                                      failures: 1, policy: policy, random: 0) == .seconds(600))
    }

    @Test("a loop's cached token follows the provider: a rejection, a refresh time, a refresh asked for and a new token each reach it")
    func loopCache() {
        let harness = ProviderHarness()
        var cache = TokenProvider.LoopCache()
        func cached() -> String? {
            guard case .success(let token)? = harness.provider.tokenIfReady(cache: &cache) else { return nil }
            return String(decoding: token.headerValue.dropFirst(7), as: UTF8.self)
        }
        #expect(cached() == nil, "no token yet, and a fetch is not started without a waiter")
        harness.warm("tok-1", lifetime: 300)
        #expect(cached() == "tok-1")
        #expect(cached() == "tok-1")
        #expect(harness.fetcher.callCount == 1)

        // Rejected: the cache must not hand out the bad token while its replacement is fetched.
        harness.clock.advance(.seconds(10))
        guard case .success(let bad)? = harness.provider.tokenIfReady() else { Issue.record("no token"); return }
        #expect(harness.provider.invalidate(bad) == .refreshing)
        #expect(cached() == nil)
        harness.fetcher.answer(.success(TokenFixture.grant("tok-2", expiresIn: 300)))
        #expect(cached() == "tok-2")

        // The refresh time reaches a cached token: the call that finds it due starts the refresh.
        harness.clock.advance(.seconds(271))
        #expect(cached() == "tok-2")
        #expect(harness.fetcher.callCount == 3)
        harness.fetcher.answer(.success(TokenFixture.grant("tok-3", expiresIn: 300)))
        #expect(cached() == "tok-3")

        // Changed credentials inside the minimum interval: refresh asked for, due when it ends.
        harness.provider.credentialsChanged()
        #expect(harness.fetcher.callCount == 3)
        harness.clock.advance(.seconds(5))
        #expect(cached() == "tok-3")
        #expect(harness.fetcher.callCount == 4, "the cached token did not hide the refresh that was asked for")
        harness.fetcher.answer(.success(TokenFixture.grant("tok-4", expiresIn: 300)))
        #expect(cached() == "tok-4")
        #expect(harness.provider.tokenIfReady().map { (try? $0.get())?.headerValue } == Array("Bearer tok-4".utf8))
    }

    @Test("invalidate drops the current token and fetches one new token; callers wait for it instead of reusing the bad one")
    func invalidateCurrent() {
        let harness = ProviderHarness()
        harness.warm()
        harness.clock.advance(.seconds(10))
        let bad = harness.provider.status
        #expect(bad.hasValidToken)
        harness.ask()
        guard case .success(let token) = harness.answers.first else { Issue.record("no token"); return }
        harness.clearAnswers()
        #expect(harness.provider.invalidate(token) == .refreshing)
        #expect(harness.fetcher.callCount == 2)
        for _ in 0..<10 { harness.ask() }
        #expect(harness.answers.isEmpty)
        // Every rejected request of the same token: one fetch in all.
        #expect(harness.provider.invalidate(token) == .alreadyReplaced)
        harness.fetcher.answer(.success(TokenFixture.grant("tok-2")))
        #expect(harness.answerTokens == Array(repeating: "tok-2", count: 10))
        #expect(harness.fetcher.callCount == 2)
        #expect(harness.provider.status.invalidations == 1)
    }

    @Test("invalidate within the minimum interval keeps the token, says tooSoon, and refreshes when the interval ends")
    func invalidateTooSoon() {
        let harness = ProviderHarness()
        harness.warm()
        harness.ask()
        guard case .success(let token) = harness.answers.first else { Issue.record("no token"); return }
        harness.clock.advance(.seconds(1))
        #expect(harness.provider.invalidate(token) == .tooSoon)
        #expect(harness.fetcher.callCount == 1)
        // Scheduled for 5 s after the first fetch started, i.e. 4 s from now.
        #expect(harness.scheduler.delays.last == 4_000_000_000)
        harness.clock.advance(.seconds(4))
        harness.scheduler.fireAll()
        #expect(harness.fetcher.callCount == 2)
    }

    @Test("invalidate of a token that is no longer current does nothing")
    func invalidateStale() {
        let harness = ProviderHarness()
        harness.warm("tok-1")
        harness.ask()
        guard case .success(let old) = harness.answers.first else { Issue.record("no token"); return }
        harness.clock.advance(.seconds(10))
        harness.provider.credentialsChanged()
        harness.fetcher.answer(.success(TokenFixture.grant("tok-2")))
        harness.clock.advance(.seconds(10))
        #expect(harness.provider.invalidate(old) == .alreadyReplaced)
        harness.clearAnswers()
        harness.ask()
        #expect(harness.answerTokens == ["tok-2"])
    }

    @Test("changed credentials fetch a new token at once, even after invalid_client, while the old token keeps serving")
    func credentialsChanged() {
        let harness = ProviderHarness()
        harness.warm()
        harness.clock.advance(.seconds(10))
        harness.provider.credentialsChanged()
        #expect(harness.fetcher.callCount == 2)
        harness.fetcher.answer(.failure(.rejected(status: 401, error: "invalid_client", errorDescription: nil)))
        harness.clock.advance(.seconds(6))
        // A second rotation (the fixed secret) does not wait out the 30 s configuration backoff.
        harness.provider.credentialsChanged()
        #expect(harness.fetcher.callCount == 3)
        harness.clearAnswers()
        harness.ask()
        #expect(harness.answerTokens == ["tok-1"])
        harness.fetcher.answer(.success(TokenFixture.grant("tok-2")))
        harness.clearAnswers()
        harness.ask()
        #expect(harness.answerTokens == ["tok-2"])
    }

    @Test("credentials changed during the minimum interval are picked up when it ends")
    func credentialsChangedTooSoon() {
        let harness = ProviderHarness()
        harness.warm()
        harness.clock.advance(.seconds(2))
        harness.provider.credentialsChanged()
        #expect(harness.fetcher.callCount == 1)
        #expect(harness.scheduler.delays.last == 3_000_000_000)
        harness.clock.advance(.seconds(3))
        harness.scheduler.fireAll()
        #expect(harness.fetcher.callCount == 2)
    }

    // A server answering expires_in 0.002 made the refresh timer ask again at once, hundreds of times a second.
    @Test("a lifetime under 1 s is refused as too short; 1 s is taken")
    func lifetimeTooShort() throws {
        let now = 1_700_000_000.0
        for seconds in [0.002, 0.5, 0.999] {
            let grant = TokenGrant(accessToken: "x", expiresIn: TokenLifetime.duration(seconds: seconds), scope: nil)
            let result = TokenLifetime.of(grant, defaultLifetime: .seconds(60), now: now)
            #expect(throws: TokenError.self) { try result.get() }
            #expect("\(result)".contains("too short"))
        }
        let second = TokenGrant(accessToken: "x", expiresIn: .seconds(1), scope: nil)
        #expect(try TokenLifetime.of(second, defaultLifetime: .seconds(60), now: now).get().0 == .seconds(1))
        let jwtShort = TokenGrant(accessToken: "x", expiresIn: nil, scope: nil, expiry: now + 0.2, issuedAt: now)
        #expect(throws: TokenError.self) { try TokenLifetime.of(jwtShort, defaultLifetime: .seconds(60), now: now).get() }
    }

    @Test("without expires_in the JWT's exp is used, counted from its iat so a skewed server clock does not matter")
    func jwtLifetime() throws {
        func jwt(_ claims: String) -> String {
            "eyJhbGciOiJub25lIn0." + Base64URL.encode(Array(claims.utf8)) + ".sig"
        }
        let now = 1_700_000_000.0
        // Server clock 10 minutes ahead: exp - now would be 15 min, exp - iat is the real 5 min.
        let skewed = TokenGrant(accessToken: "x", expiresIn: nil, scope: nil, expiry: now + 900, issuedAt: now + 600)
        #expect(try TokenLifetime.of(skewed, defaultLifetime: .seconds(60), now: now).get().0 == .seconds(300))
        let noIat = TokenGrant(accessToken: "x", expiresIn: nil, scope: nil, expiry: now + 120, issuedAt: nil)
        #expect(try TokenLifetime.of(noIat, defaultLifetime: .seconds(60), now: now).get().0 == .seconds(120))
        let opaque = TokenGrant(accessToken: "x", expiresIn: nil, scope: nil)
        #expect(try TokenLifetime.of(opaque, defaultLifetime: .seconds(60), now: now).get().0 == .seconds(60))
        // An exp far in the future is capped at a day rather than overflowing.
        let distant = TokenGrant(accessToken: "x", expiresIn: nil, scope: nil, expiry: 1e300, issuedAt: now)
        #expect(try TokenLifetime.of(distant, defaultLifetime: .seconds(60), now: now).get().0 == .seconds(86_400))
        #expect(try TokenLifetime.of(opaque, defaultLifetime: .seconds(900_000_000_000), now: now).get().0 == .seconds(86_400))
        let parsed = try? TokenGrant.parse(Array(#"{"access_token":"\#(jwt(#"{"exp":1700000300,"iat":1700000000}"#))","token_type":"Bearer"}"#.utf8))
        #expect(parsed?.expiry == 1_700_000_300)
        #expect(parsed?.issuedAt == 1_700_000_000)
    }

    // An Entra ID-style answer whose JWT expires before expires_in says was refreshed too late:
    // the resource server judges by exp.
    @Test("the earlier of expires_in and the JWT's exp wins, exp measured on the server's clock (Date, else iat)")
    func earlierExpiryWins() throws {
        let now = 1_700_000_000.0
        func lifetime(_ grant: TokenGrant) throws -> (Duration, TokenLifetime.Source) {
            try TokenLifetime.of(grant, defaultLifetime: .seconds(60), now: now).get()
        }
        // exp 300 s after the server's Date, expires_in 3600: 300 s, by exp.
        var early = TokenGrant(accessToken: "x", expiresIn: .seconds(3600), scope: nil, expiry: now + 300, issuedAt: now)
        early.serverDate = now
        #expect(try lifetime(early) == (.seconds(300), .jwtExp))
        // The same with the server's clock 10 minutes ahead of ours: still 300 s, not 900.
        var ahead = TokenGrant(accessToken: "x", expiresIn: .seconds(3600), scope: nil, expiry: now + 900, issuedAt: now + 600)
        ahead.serverDate = now + 600
        #expect(try lifetime(ahead) == (.seconds(300), .jwtExp))
        // No Date header: the iat stands for the server's clock.
        let noDate = TokenGrant(accessToken: "x", expiresIn: .seconds(3600), scope: nil, expiry: now + 900, issuedAt: now + 600)
        #expect(try lifetime(noDate) == (.seconds(300), .jwtExp))
        // Neither: our clock.
        let bare = TokenGrant(accessToken: "x", expiresIn: .seconds(3600), scope: nil, expiry: now + 120, issuedAt: nil)
        #expect(try lifetime(bare) == (.seconds(120), .jwtExp))
        // exp later than expires_in: expires_in stands.
        var later = TokenGrant(accessToken: "x", expiresIn: .seconds(300), scope: nil, expiry: now + 3600, issuedAt: now)
        later.serverDate = now
        #expect(try lifetime(later) == (.seconds(300), .expiresIn))
    }

    @Test("a token whose exp has passed is refused however long expires_in says it lasts")
    func expiredJWTRefused() {
        let now = 1_700_000_000.0
        var stale = TokenGrant(accessToken: "x", expiresIn: .seconds(3600), scope: nil, expiry: now - 10, issuedAt: now - 3610)
        stale.serverDate = now
        let result = TokenLifetime.of(stale, defaultLifetime: .seconds(60), now: now)
        #expect(throws: TokenError.invalidResponse("token is already expired (its exp has passed)")) { try result.get() }
        // Through the provider: no token is handed out, and callers get an error.
        let harness = ProviderHarness()
        harness.ask()
        harness.fetcher.answer(.success(stale))
        #expect(harness.answerTokens == ["error"])
        #expect(!harness.provider.status.hasValidToken)
    }

    @Test("the cache expires a token by its exp when that is earlier than expires_in")
    func providerUsesEarlierExpiry() {
        let harness = ProviderHarness()
        let wall = harness.clock.wall.withLock { $0 }
        var grant = TokenGrant(accessToken: "tok-1", expiresIn: .seconds(3600), scope: nil, expiry: wall + 120, issuedAt: wall)
        grant.serverDate = wall
        harness.ask()
        harness.fetcher.answer(.success(grant))
        #expect(harness.provider.status.secondsUntilExpiry == 120)
        // Refreshed 12 s (10% of 120 s) before exp, not 60 s before the hour.
        #expect(harness.scheduler.delays == [108_000_000_000])
    }

    @Test("expires_in 0 or negative is logged as a warning that names the default lifetime used instead")
    func ignoredExpiresInWarning() throws {
        let buffer = CapturingLogHandler.Buffer()
        let harness = ProviderHarness(logger: CapturingLogHandler.logger(into: buffer))
        let grant = try TokenGrant.parse(Array(#"{"access_token":"tok-1","expires_in":0}"#.utf8))
        harness.ask()
        harness.fetcher.answer(.success(grant))
        #expect(harness.answerTokens == ["tok-1"])
        #expect(buffer.text.contains("expires_in"))
        #expect(buffer.text.contains("token.default_lifetime"))
        #expect(buffer.text.contains("5m") || buffer.text.contains("300"))
        #expect(harness.provider.status.secondsUntilExpiry == 300)
    }

    @Test("a token endpoint Date header more than a minute off the local clock is logged once; expiry still uses the local clock")
    func clockSkewWarning() {
        let buffer = CapturingLogHandler.Buffer()
        let harness = ProviderHarness(logger: CapturingLogHandler.logger(into: buffer))
        var grant = TokenFixture.grant("tok-1", expiresIn: 300)
        grant.serverDate = 1_700_000_000 + 3600
        harness.ask()
        harness.fetcher.answer(.success(grant))
        harness.clock.advance(.seconds(280))
        harness.ask()
        harness.fetcher.answer(.success(grant))
        #expect(buffer.text.components(separatedBy: "clock differs").count == 2)
        #expect(buffer.text.contains("date_header"))
        // 300 s from the second fetch, not shortened or stretched by the server's clock.
        #expect(harness.provider.status.secondsUntilExpiry == 300)
        var close = TokenFixture.grant()
        close.serverDate = 1_700_000_000 + 280 + 30
        let quiet = CapturingLogHandler.Buffer()
        let other = ProviderHarness(logger: CapturingLogHandler.logger(into: quiet))
        other.clock.advance(.seconds(280))
        other.ask()
        other.fetcher.answer(.success(close))
        #expect(!quiet.text.contains("clock differs"))
    }

    @Test("an absurd JWT iat or Date (1e19 s) is logged as skew, never a crash, and the token is used", arguments: [1e19, -1e19])
    func absurdSkew(time: Double) {
        let buffer = CapturingLogHandler.Buffer()
        let harness = ProviderHarness(logger: CapturingLogHandler.logger(into: buffer))
        var grant = TokenFixture.grant("tok-1", expiresIn: 300)
        grant.issuedAt = time
        grant.serverDate = time
        harness.ask()
        harness.fetcher.answer(.success(grant))
        #expect(buffer.text.contains("clock differs"))
        guard case .success(let token)? = harness.answers.first else { Issue.record("no token"); return }
        #expect(token.lifetime == .seconds(300))
    }
}
