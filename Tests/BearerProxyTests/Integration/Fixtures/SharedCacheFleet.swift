@testable import BearerProxy
import BearerSync
import BearerTLS
import Dispatch
import Foundation
import Logging
import Synchronization

/// A token endpoint stand-in shared by in-process replicas: every fetch is counted, and answered
/// after `delay` with a new token (`tok-1`, `tok-2`, ...). Only the endpoint is in-process; the
/// replicas' shared cache talks to a real `redis-server`.
final class CountingEndpoint: Sendable {
    let count = Atomic<Int>(0)
    let lifetime: Int
    let delay: Duration
    /// While set, fetches never answer (a holder that hangs until it is killed).
    let hang = Atomic<Bool>(false)

    init(lifetime: Int = 300, delay: Duration = .milliseconds(50)) {
        self.lifetime = lifetime
        self.delay = delay
    }

    var fetches: Int { count.load(ordering: .relaxed) }

    func fetcher() -> some TokenFetching { Fetcher(endpoint: self) }

    struct Fetcher: TokenFetching {
        let endpoint: CountingEndpoint
        func fetch(_ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void) {
            let number = endpoint.count.add(1, ordering: .relaxed).newValue
            if endpoint.hang.load(ordering: .relaxed) { return }
            let grant = TokenFixture.grant("tok-\(number)", expiresIn: endpoint.lifetime)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(TokenProvider.nanoseconds(endpoint.delay)))) {
                completion(.success(grant))
            }
        }
    }
}

/// One replica of the fleet, in process: a real `TokenProvider` over a real `SharedTokenCache`
/// with its own `RedisClient` connection, on its own loop.
struct SharedCacheReplica {
    let provider: TokenProvider
    let cache: SharedTokenCache
    let loop: EventLoop
    let metrics: SharedCacheMetrics
    let exported: ProxyMetrics

    static let group = EventLoopGroup(count: 2, label: "itest.shared-cache")
    static let resolver = AddressResolver()

    init(redis: RedisServer, endpoint: CountingEndpoint, key: [UInt8] = Array(repeating: 7, count: 32),
         token: TokenConfig = SharedCacheReplica.tokenConfig(), clock: TokenClock = .system, logger: Logger = TokenFixture.logger,
         username: String? = nil, passwordFile: String? = nil, timeout: Duration = .milliseconds(250), index: Int = 0) throws {
        var logger = logger
        if ProcessInfo.processInfo.environment["ITEST_DEBUG"] != nil {
            logger = Logger(label: "replica-\(index)", factory: { StreamLogHandler.standardError(label: $0) })
            logger.logLevel = .trace
        }
        loop = Self.group.loops[index % Self.group.loops.count]
        var tlsContext: TLSContext?
        if let tls = redis.tls {
            tlsContext = try TLSContext.client(TLSClientConfiguration(caFile: tls.caFile, alpn: []))
        }
        let shared = SharedCacheConfig(server: RedisURL(host: "127.0.0.1", port: redis.port, isTLS: redis.tls != nil),
                                       username: username, passwordFile: passwordFile,
                                       keyFile: "/unused", key: SealingKey(bytes: key)!)
        var settings = RedisClient.Settings(shared, tlsContext: tlsContext)
        settings.timeout = timeout
        exported = ProxyMetrics()
        let metrics = exported.sharedCache(profile: "itest")
        self.metrics = metrics
        let client = RedisClient(settings: settings, loop: loop, resolver: Self.resolver, logger: logger,
                                 observe: { metrics.observe($0) })
        let policy = TokenProvider.Policy(refreshMargin: token.refreshMargin, defaultLifetime: token.defaultLifetime,
                                          minimumInterval: .zero, refreshProactively: false)
        cache = SharedTokenCache(inner: endpoint.fetcher(), config: token, shared: shared, dpop: nil, policy: policy,
                                 client: client, metrics: metrics, clock: clock, logger: logger)
        provider = TokenProvider(fetcher: cache, policy: policy, clock: clock, logger: logger)
    }

    static func tokenConfig(clientID: String = "fleet-client", scopes: [String] = ["read"], timeout: Duration = .seconds(2)) -> TokenConfig {
        TokenConfig(url: EndpointURL(scheme: "https", host: "idp.example", port: 443, path: "/token"), clientID: clientID,
                    clientSecret: Secret("s"), secretSource: nil, scopes: scopes, timeout: timeout)
    }

    /// A shared-cache counter as Prometheus exports it: an event ("hit", "lease_won", ...) or an
    /// error kind ("error:unreachable").
    func count(_ name: String) -> Int {
        let text = String(decoding: exported.exposition(), as: UTF8.self)
        let series = name.hasPrefix("error:")
            ? #"bearer_proxy_shared_cache_errors_total{profile="itest",kind="\#(name.dropFirst(6))"}"#
            : #"bearer_proxy_shared_cache_events_total{profile="itest",event="\#(name)"}"#
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(series + " ") }) else { return 0 }
        return Int(Double(line.split(separator: " ").last ?? "") ?? 0)
    }

    /// The provider's answer, waited for.
    func token() async -> Result<AccessToken, TokenError> {
        await withCheckedContinuation { continuation in
            provider.token(on: loop) { continuation.resume(returning: $0) }
        }
    }

    /// The token text the provider answered with ("tok-N"), or the error's description.
    func tokenText() async -> String {
        switch await token() {
        case .success(let token): return String(decoding: token.headerValue.dropFirst("Bearer ".utf8.count), as: UTF8.self)
        case .failure(let error): return "error: \(error)"
        }
    }
}
