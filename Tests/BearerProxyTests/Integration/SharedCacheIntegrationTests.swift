@testable import BearerProxy
import BearerTLS
import Foundation
import Synchronization
import Testing

extension Integration {
    /// token.shared_cache against a real redis-server: replicas in this process, each with its own
    /// Redis connection, sharing one counting token endpoint.
    @Suite("Shared token cache: one token for the fleet, through a real Redis")
    struct SharedCache {
        @Test("eight replicas asking at once make one token request, and all get its token")
        func oneFetchForTheFleet() async throws {
            let redis = try RedisServer()
            let endpoint = CountingEndpoint(delay: .milliseconds(150))
            let replicas = try (0..<8).map { try SharedCacheReplica(redis: redis, endpoint: endpoint, index: $0) }
            let tokens = await withTaskGroup(of: String.self) { group in
                for replica in replicas { group.addTask { await replica.tokenText() } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(tokens == Array(repeating: "tok-1", count: 8))
            #expect(endpoint.fetches == 1)
            #expect(replicas.map { $0.count("lease_won") }.reduce(0, +) == 1)
            #expect(replicas.map { $0.count("lease_lost") }.reduce(0, +) == 7)
            // The lease is released; the token is stored sealed, under a name that holds a hash only.
            let keys = try redis.keys()
            #expect(keys.count == 1 && keys[0].hasPrefix("bearer-proxy:token:"), "\(keys)")
            #expect(!keys[0].contains("fleet-client"))
            let stored = try redis.command("--raw", "GET", keys[0])
            #expect(!stored.contains("tok-1"), "the value is sealed")
            let ttl = try Int(redis.command("PTTL", keys[0])) ?? 0
            #expect(ttl > 290_000 && ttl <= 300_000, "stored for what is left of the token's life: \(ttl) ms")
            // A replica that starts later takes it from Redis.
            let late = try SharedCacheReplica(redis: redis, endpoint: endpoint)
            #expect(await late.tokenText() == "tok-1")
            #expect(late.count("hit") == 1)
            #expect(endpoint.fetches == 1)
        }

        @Test("profiles that would get different tokens use different keys")
        func differentSettingsDifferentKeys() async throws {
            let redis = try RedisServer()
            let endpoint = CountingEndpoint()
            let read = try SharedCacheReplica(redis: redis, endpoint: endpoint, token: SharedCacheReplica.tokenConfig(scopes: ["read"]))
            let write = try SharedCacheReplica(redis: redis, endpoint: endpoint, token: SharedCacheReplica.tokenConfig(scopes: ["write"]))
            let other = try SharedCacheReplica(redis: redis, endpoint: endpoint, token: SharedCacheReplica.tokenConfig(clientID: "other"))
            let sameSetOtherOrder = try SharedCacheReplica(redis: redis, endpoint: endpoint,
                                                           token: SharedCacheReplica.tokenConfig(scopes: ["b", "a"]))
            let sameSet = try SharedCacheReplica(redis: redis, endpoint: endpoint, token: SharedCacheReplica.tokenConfig(scopes: ["a", "b"]))
            #expect(await read.tokenText() == "tok-1")
            #expect(await write.tokenText() == "tok-2")
            #expect(await other.tokenText() == "tok-3")
            #expect(await sameSetOtherOrder.tokenText() == "tok-4")
            #expect(await sameSet.tokenText() == "tok-4")
            #expect(try redis.keys("bearer-proxy:token:*").count == 4)
        }

        @Test("a shared token with less left than the refresh lead is not taken; the next one is fetched once and shared")
        func staleTokenIsRefreshed() async throws {
            let redis = try RedisServer()
            let endpoint = CountingEndpoint(lifetime: 100)
            let clock = ManualClock()
            clock.wall.withLock { $0 = Date().timeIntervalSince1970 }
            let first = try SharedCacheReplica(redis: redis, endpoint: endpoint, clock: clock.clock)
            #expect(await first.tokenText() == "tok-1")
            // Margin 10 s (10% of 100 s), up to 2 s of jitter: with 11 s left, some replica is due.
            clock.advance(.seconds(89))
            let second = try SharedCacheReplica(redis: redis, endpoint: endpoint, clock: clock.clock)
            #expect(await second.tokenText() == "tok-2")
            #expect(second.count("miss") == 1 && second.count("lease_won") == 1)
            let third = try SharedCacheReplica(redis: redis, endpoint: endpoint, clock: clock.clock)
            #expect(await third.tokenText() == "tok-2")
            #expect(endpoint.fetches == 2)
            // A replica whose clock is 5 s behind the writer's still takes it (it counts no more
            // than the granted lifetime); one 10 minutes behind does not trust the entry.
            let behind = ManualClock()
            behind.wall.withLock { $0 = clock.wall.withLock { $0 } - 5 }
            let late = try SharedCacheReplica(redis: redis, endpoint: endpoint, clock: behind.clock)
            #expect(await late.tokenText() == "tok-2")
            let expiresIn = try #require(try await late.token().get()).expiresAt &- behind.now
            #expect(expiresIn <= 100_000_000_000, "no more than the granted lifetime")
            behind.wall.withLock { $0 -= 600 }
            let wayBehind = try SharedCacheReplica(redis: redis, endpoint: endpoint, clock: behind.clock)
            #expect(await wayBehind.tokenText() == "tok-3")
            #expect(endpoint.fetches == 3)
        }

        @Test("Redis stopped: replicas fetch on their own with no error to callers, count the errors, and share again once it is back")
        func outageAndRecovery() async throws {
            let redis = try RedisServer()
            let endpoint = CountingEndpoint()
            let log = CapturingLogHandler.Buffer()
            let a = try SharedCacheReplica(redis: redis, endpoint: endpoint, logger: CapturingLogHandler.logger(into: log))
            let b = try SharedCacheReplica(redis: redis, endpoint: endpoint, index: 1)
            redis.stop()
            #expect(await a.tokenText() == "tok-1")
            #expect(await b.tokenText() == "tok-2")
            #expect(a.count("bypass") == 1 && a.count("error:unreachable") == 1)
            #expect(a.cache.client.status.reachable == false)
            #expect(log.text.contains("shared token cache unavailable"))
            // Back: the retry delay passes, and the next fetch goes through Redis again.
            try redis.start()
            try await Task.sleep(for: .seconds(1.2))
            let c = try SharedCacheReplica(redis: redis, endpoint: endpoint)
            let old = try await a.token().get()
            #expect(a.provider.invalidate(old) == .refreshing)
            #expect(await a.tokenText() == "tok-3")
            #expect(await c.tokenText() == "tok-3")
            #expect(a.cache.client.status.reachable == true)
            #expect(log.text.contains("shared token cache reachable again"))
            #expect(endpoint.fetches == 3)
        }

        @Test("a Redis that does not answer costs one timeout (about 250 ms), then the replica fetches alone")
        func slowRedis() async throws {
            let redis = try RedisServer()
            let endpoint = CountingEndpoint()
            let replica = try SharedCacheReplica(redis: redis, endpoint: endpoint)
            // DEBUG SLEEP blocks the real server for 3 s.
            let sleeper = Thread { _ = try? redis.command("DEBUG", "SLEEP", "3") }
            sleeper.start()
            try await Task.sleep(for: .milliseconds(200))
            let started = ContinuousClock.now
            #expect(await replica.tokenText() == "tok-1")
            let waited = ContinuousClock.now - started
            #expect(waited < .seconds(2), "waited \(waited), not for the sleeping server")
            #expect(replica.count("error:timeout") == 1)
        }

        @Test("a value sealed with another key, or planted without one, is ignored and reported once")
        func foreignValues() async throws {
            let redis = try RedisServer()
            let endpoint = CountingEndpoint()
            let log = CapturingLogHandler.Buffer()
            let owner = try SharedCacheReplica(redis: redis, endpoint: endpoint)
            #expect(await owner.tokenText() == "tok-1")
            let stranger = try SharedCacheReplica(redis: redis, endpoint: endpoint, key: Array(repeating: 9, count: 32),
                                                  logger: CapturingLogHandler.logger(into: log))
            #expect(await stranger.tokenText() == "tok-2", "the other key's value does not open")
            #expect(stranger.count("undecryptable") == 1)
            // A token planted in clear text under the right name is not taken either.
            let name = try #require(try redis.keys("bearer-proxy:token:*").first)
            try redis.command("SET", name, #"{"v":1,"access_token":"planted","token_type":"Bearer","expires_at_ms":99999999999999,"lifetime_ms":300000,"lifetime_from":"expires_in"}"#)
            let third = try SharedCacheReplica(redis: redis, endpoint: endpoint, logger: CapturingLogHandler.logger(into: log))
            #expect(await third.tokenText() == "tok-3")
            #expect(log.text.components(separatedBy: "cannot open").count - 1 == 2, "once per replica")
            #expect(!log.text.contains("tok-"))
        }

        @Test("an upstream 401 deletes the shared token only while it is still the stored one")
        func rejectedTokenCompareAndDelete() async throws {
            let redis = try RedisServer()
            let endpoint = CountingEndpoint()
            let a = try SharedCacheReplica(redis: redis, endpoint: endpoint)
            let b = try SharedCacheReplica(redis: redis, endpoint: endpoint, index: 1)
            let first = try await a.token().get()
            #expect(await b.tokenText() == "tok-1")
            // a's upstream rejects tok-1: deleted from Redis, and a fetches tok-2 and stores it.
            #expect(a.provider.invalidate(first) == .refreshing)
            #expect(await a.tokenText() == "tok-2")
            #expect(a.count("discarded") == 1)
            // b's upstream rejects tok-1 too: Redis now holds tok-2, which stays; b takes it.
            #expect(b.provider.invalidate(first) == .refreshing)
            #expect(await b.tokenText() == "tok-2")
            #expect(b.count("discarded") == 0)
            #expect(endpoint.fetches == 2)
        }

        @Test("a holder that dies keeps its lease only until it expires; then another replica fetches, and its callers see no error")
        func deadHolder() async throws {
            let redis = try RedisServer()
            let endpoint = CountingEndpoint()
            let token = SharedCacheReplica.tokenConfig(timeout: .seconds(1))
            let dying = try SharedCacheReplica(redis: redis, endpoint: endpoint, token: token)
            let survivor = try SharedCacheReplica(redis: redis, endpoint: endpoint, token: token, index: 1)
            endpoint.hang.store(true, ordering: .relaxed)
            dying.provider.token(on: dying.loop) { _ in }   // takes the lease; its fetch never answers
            try await Task.sleep(for: .milliseconds(100))
            #expect(try redis.keys("bearer-proxy:lease:*").count == 1)
            endpoint.hang.store(false, ordering: .relaxed)
            let started = ContinuousClock.now
            #expect(await survivor.tokenText() == "tok-2")
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(survivor.count("lease_lost") == 1 && survivor.count("lease_won") == 1 && survivor.count("wait_timeout") == 0)
        }

        @Test("AUTH with an ACL user and password from password_file; a wrong password means fetching alone")
        func authentication() async throws {
            let redis = try RedisServer(password: "redis-pass-9f3")
            let endpoint = CountingEndpoint()
            let directory = try ProxyHarness.makeTemporaryDirectory()
            try "redis-pass-9f3\n".write(toFile: directory + "/pw", atomically: true, encoding: .utf8)
            try "wrong".write(toFile: directory + "/bad", atomically: true, encoding: .utf8)
            let user = try SharedCacheReplica(redis: redis, endpoint: endpoint, username: "fleet", passwordFile: directory + "/pw")
            let plain = try SharedCacheReplica(redis: redis, endpoint: endpoint, passwordFile: directory + "/pw")
            let log = CapturingLogHandler.Buffer()
            let wrong = try SharedCacheReplica(redis: redis, endpoint: endpoint, logger: CapturingLogHandler.logger(into: log),
                                               passwordFile: directory + "/bad")
            #expect(await user.tokenText() == "tok-1")
            #expect(await plain.tokenText() == "tok-1")
            #expect(await wrong.tokenText() == "tok-2")
            #expect(wrong.count("error:auth") == 1)
            #expect(log.text.contains("WRONGPASS"))
            #expect(!log.text.contains("wrong\""), "the password is not logged")
        }

        @Test("rediss://: TLS with the server's certificate verified against ca_file")
        func tls() async throws {
            let redis = try RedisServer(tls: true)
            let endpoint = CountingEndpoint()
            let a = try SharedCacheReplica(redis: redis, endpoint: endpoint)
            let b = try SharedCacheReplica(redis: redis, endpoint: endpoint, index: 1)
            #expect(await a.tokenText() == "tok-1")
            #expect(await b.tokenText() == "tok-1")
            #expect(a.count("error:unreachable") == 0)
            #expect(endpoint.fetches == 1)
        }

        @Test("the real proxy: its token goes to Redis, /readyz shows the cache and stays ready without it, /metrics counts")
        func proxy() async throws {
            let redis = try RedisServer()
            let directory = try ProxyHarness.makeTemporaryDirectory()
            try String(repeating: "z", count: 32).write(toFile: directory + "/cache.key", atomically: true, encoding: .utf8)
            var options = ProxyHarness.Options()
            options.tokenYAML = "  shared_cache: {url: \"\(redis.url(database: 4))\", key_file: \(directory)/cache.key}\n"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            #expect(try harness.client().exchange(harness.get("/a")).status == 200)
            #expect(try redis.command("-n", "4", "--raw", "KEYS", "bearer-proxy:token:*").hasPrefix("bearer-proxy:token:"))
            let ready = try harness.admin("/readyz")
            #expect(ready.status == 200)
            #expect(ready.bodyText.contains(#""shared_cache":{"reachable":true}"#), "\(ready.bodyText)")
            let metrics = try harness.admin("/metrics").bodyText
            #expect(metrics.contains(#"bearer_proxy_shared_cache_events_total{profile="default",event="lease_won"} 1"#))
            #expect(metrics.contains(#"bearer_proxy_shared_cache_events_total{profile="default",event="stored"} 1"#))
            // Redis gone: still ready, and /readyz says so once its probe has run.
            redis.stop()
            try await Task.sleep(for: .seconds(5.2))
            _ = try harness.admin("/readyz")
            try await Task.sleep(for: .milliseconds(300))
            let without = try harness.admin("/readyz")
            #expect(without.status == 200)
            #expect(without.bodyText.contains(#""reachable":false"#), "\(without.bodyText)")
            #expect(try harness.client().exchange(harness.get("/b")).status == 200)
        }

        @Test("Redis refusing writes (maxmemory reached) leaves replicas fetching on their own, without errors to callers")
        func fullRedis() async throws {
            let redis = try RedisServer()
            try redis.command("CONFIG", "SET", "maxmemory", "1")
            let endpoint = CountingEndpoint()
            let a = try SharedCacheReplica(redis: redis, endpoint: endpoint)
            let b = try SharedCacheReplica(redis: redis, endpoint: endpoint, index: 1)
            #expect(await a.tokenText() == "tok-1")
            #expect(await b.tokenText() == "tok-2")
            #expect(a.count("error:refused") >= 1)
        }
    }
}
