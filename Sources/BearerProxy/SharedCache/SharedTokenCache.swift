import BearerRedis
import BearerTLS
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One token for the whole fleet: a `TokenFetching` that asks Redis before it asks the token
/// endpoint, and lets one replica at a time do the asking.
///
/// A fetch (no token, or refresh due) goes:
/// 1. `GET` the sealed token. Fresh (more left than the longest refresh lead any replica uses):
///    take it. The provider then refreshes it at its own jittered time, like a token it fetched.
/// 2. Otherwise `SET lease NX PX <token timeout>`. Won: fetch from the endpoint, hand the token to
///    the provider at once, then `SET` it sealed with a TTL of its remaining life, and release the
///    lease (compare-and-delete, so a lease that expired and went to another is not taken from it).
/// 3. Lost: poll for the token until the token timeout, taking the lease if it comes free (a
///    holder that died loses it when it expires), then fetch alone.
/// Any Redis failure at any step means a fetch of its own, as without the cache: the provider's
/// single flight, backoff and minimum interval still apply, and no caller waits for Redis longer
/// than the client's timeout (250 ms) per step.
///
/// The value is sealed with AES-256-GCM under `key_file`, the key name as associated data: without
/// the key nobody can read a token or plant one, and a value moved to another name does not open.
/// @unchecked Sendable: `lastEntry`, `rejectedTokens` and `warnedUnreadable` are touched only on
/// `client.loop`'s queue; everything else is immutable.
final class SharedTokenCache: TokenFetching, @unchecked Sendable {
    let inner: any TokenFetching
    let client: RedisClient
    let metrics: SharedCacheMetrics
    let config: TokenConfig
    private let sealingKey: SealingKey
    private let prefix: String
    private let dpop: DPoPProver?
    private let policy: TokenProvider.Policy
    let clock: TokenClock
    private let logger: Logger
    /// Polls while another replica holds the lease start at this and double up to `maximumPoll`.
    let firstPoll: Duration = .milliseconds(25)
    let maximumPoll: Duration = .milliseconds(200)

    /// The token last read or written, with its sealed bytes: what `rejected` compares and deletes.
    private var lastEntry: (headerValue: [UInt8], key: String, sealed: [UInt8])?
    /// Hashes of tokens the upstream rejected here: never taken from Redis again.
    private var rejectedTokens: [[UInt8]] = []
    private var warnedUnreadable = false

    init(inner: any TokenFetching, config: TokenConfig, shared: SharedCacheConfig, dpop: DPoPProver?, policy: TokenProvider.Policy,
         client: RedisClient, metrics: SharedCacheMetrics, clock: TokenClock = .system, logger: Logger) {
        self.inner = inner
        self.config = config
        self.sealingKey = shared.key
        self.prefix = shared.keyPrefix
        self.dpop = dpop
        self.policy = policy
        self.client = client
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
    }

    var loop: EventLoop { client.loop }

    /// The names this profile's token and lease have now.
    func currentKey() -> SharedCacheKey {
        SharedCacheKey(config, prefix: prefix, boundTo: SharedCacheKey.binding(of: config, dpop: dpop))
    }

    func fetch(_ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void) {
        loop.execute { [self] in
            SharedFetch(cache: self, key: currentKey(), completion: completion).start()
        }
    }

    func hint(for error: TokenError) -> String? { inner.hint(for: error) }

    func rejected(_ token: AccessToken) {
        loop.execute { [self] in
            rejectedTokens.append(CryptoPrimitives.sha256(token.headerValue))
            if rejectedTokens.count > 8 { rejectedTokens.removeFirst() }
            guard let last = lastEntry, last.headerValue == token.headerValue else { return }
            lastEntry = nil
            // Only if it is still the value stored: a newer token another replica wrote stays.
            compareAndDelete(last.key, expected: last.sealed) { [self] deleted in
                if deleted { metrics.discarded.increment() }
            }
        }
    }

    func retire() {
        loop.execute { [self] in client.close() }
    }

    // MARK: Steps, on `loop`

    enum Lookup {
        case fresh(TokenGrant)
        /// None, stale, rejected, or unreadable.
        case missing
        case unavailable(RedisError)
    }

    /// `GET` and judge the token under `key`.
    /// `recount`: count and log a value that does not open (false for a second read within one fetch).
    func lookUp(_ key: SharedCacheKey, recount: Bool = true, _ completion: @escaping (Lookup) -> Void) {
        client.send([Array("GET".utf8), Array(key.token.utf8)]) { [self] result in
            switch result {
            case .failure(let error):
                completion(.unavailable(error))
            case .success(.bulk(let sealed)):
                completion(judge(sealed, key: key, recount: recount))
            case .success(.null):
                completion(.missing)
            case .success(let other):
                completion(.unavailable(.protocolError("GET answered \(other)")))
            }
        }
    }

    private func judge(_ sealed: [UInt8], key: SharedCacheKey, recount: Bool) -> Lookup {
        let opened = try? SealedBox.open(sealed, key: sealingKey.bytes, associatedData: Array(key.token.utf8))
        guard let plaintext = opened ?? nil, let entry = SharedTokenEntry.decode(plaintext) else {
            guard recount else { return .missing }
            metrics.undecryptable.increment()
            if !warnedUnreadable {
                warnedUnreadable = true
                logger.warning("shared token cache holds a value this proxy cannot open; ignored (is key_file the same on every replica?)",
                               metadata: ["key": "\(key.token)"])
            }
            return .missing
        }
        let headerValue = Array("\(entry.isDPoP ? "DPoP" : "Bearer") \(entry.accessToken)".utf8)
        if rejectedTokens.contains(CryptoPrimitives.sha256(headerValue)) { return .missing }
        // A DPoP token is only usable with token.dpop, a bearer token only without it.
        guard entry.isDPoP == (dpop != nil) else { return .missing }
        let now = Int64((clock.secondsSince1970() * 1000).rounded(.down))
        // A replica whose clock runs behind the writer's sees more left than the token was
        // granted: within `clockSkewAllowance` that is skew, and it counts the full lifetime;
        // beyond it, the entry (or a clock) is wrong, and the token is not taken.
        guard entry.expiresAtMilliseconds - now <= entry.lifetimeMilliseconds + Self.clockSkewAllowance else { return .missing }
        let remaining = min(entry.expiresAtMilliseconds - now, entry.lifetimeMilliseconds)
        let lead = Int64(policy.longestLead(forLifetime: TokenProvider.nanoseconds(entry.lifetime)) / 1_000_000)
        guard remaining > lead else { return .missing }
        lastEntry = (headerValue, key.token, sealed)
        var grant = TokenGrant(accessToken: entry.accessToken, scope: entry.scope, isDPoP: entry.isDPoP)
        grant.shared = .init(lifetime: entry.lifetime, source: entry.lifetimeSource, remaining: .milliseconds(remaining))
        return .fresh(grant)
    }

    /// `SET lease <holder> NX PX <token timeout>`: true when this replica now holds it.
    func takeLease(_ key: SharedCacheKey, holder: String, _ completion: @escaping (Result<Bool, RedisError>) -> Void) {
        let milliseconds = max(SharedTokenEntry.milliseconds(config.timeout), 1)
        client.send(["SET", key.lease, holder, "NX", "PX", String(milliseconds)].map { Array($0.utf8) }) { result in
            switch result {
            case .failure(let error): completion(.failure(error))
            case .success(let reply) where reply.isOK: completion(.success(true))
            case .success(.null): completion(.success(false))
            case .success(let other): completion(.failure(.protocolError("SET NX answered \(other)")))
            }
        }
    }

    /// Seals and stores a token just fetched, for what is left of its life, then releases the lease.
    func store(_ grant: TokenGrant, started: Double, key: SharedCacheKey, holder: String) {
        defer { releaseLease(key, holder: holder) }
        guard case .success(let (lifetime, source)) = TokenLifetime.of(grant, defaultLifetime: policy.defaultLifetime,
                                                                         now: clock.secondsSince1970()) else { return }
        let entry = SharedTokenEntry(grant: grant, lifetime: lifetime, source: source, started: started)
        let ttl = entry.expiresAtMilliseconds - Int64((clock.secondsSince1970() * 1000).rounded(.down))
        guard ttl > 0, let sealed = try? SealedBox.seal(entry.encoded(), key: sealingKey.bytes, associatedData: Array(key.token.utf8)) else {
            return
        }
        lastEntry = (Array("\(grant.isDPoP ? "DPoP" : "Bearer") \(grant.accessToken)".utf8), key.token, sealed)
        client.send([Array("SET".utf8), Array(key.token.utf8), sealed, Array("PX".utf8), Array(String(ttl).utf8)]) { [self] result in
            if case .success(let reply) = result, reply.isOK { metrics.stored.increment() }
        }
    }

    func releaseLease(_ key: SharedCacheKey, holder: String) {
        compareAndDelete(key.lease, expected: Array(holder.utf8)) { _ in }
    }

    /// Deletes `key` only while it still holds `expected`, in one step on the server.
    private func compareAndDelete(_ key: String, expected: [UInt8], _ completion: @escaping (Bool) -> Void) {
        client.send([Array("EVAL".utf8), Array(Self.compareAndDeleteScript.utf8), Array("1".utf8), Array(key.utf8), expected]) { result in
            if case .success(.integer(let deleted)) = result { completion(deleted == 1) } else { completion(false) }
        }
    }

    /// How far (milliseconds) replicas' wall clocks may differ before a shared token looks wrong.
    static let clockSkewAllowance: Int64 = 60_000

    static let compareAndDeleteScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"

    /// Who holds a lease, for an operator reading Redis: host, process and a random part.
    static func newHolder() -> String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        let random = CryptoPrimitives.randomBytes(8).map { String($0, radix: 16) }.joined()
        return "\(host)/\(getpid())/\(random)"
    }
}
