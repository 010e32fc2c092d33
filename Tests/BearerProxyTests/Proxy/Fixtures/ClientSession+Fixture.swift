import Logging
import Testing
@testable import BearerProxy

/// One `ClientSession` with nothing real around it: the client and every upstream connection are
/// `MemoryTransport`s, the token comes from a scripted fetcher on a hand-moved clock, and the pool
/// opens a connection only when the test says so. Every step runs on the loop's queue, so a test
/// reads as the sequence of events one request meets.
/// @unchecked Sendable: everything but `loop` is used only inside `onLoop`.
final class SessionHarness: @unchecked Sendable {
    /// One loop for every harness: a loop is never started here, it only owns the queue.
    static let loop = EventLoop(index: 0, label: "test.session")

    let loop = SessionHarness.loop
    let client = MemoryTransport(name: "client")
    let log = CapturingLogHandler.Buffer()
    let tokens: ProviderHarness
    let pool: UpstreamPool
    let metrics = ProxyMetrics()
    private(set) var session: ClientSession!
    /// Every upstream connection opened so far, in order.
    private(set) var upstreams: [MemoryTransport] = []
    private var pendingOpens: [(Result<any Transport, ConnectionError>) -> Void] = []

    struct Options {
        var retryUnauthorized: UpstreamConfig.RetryUnauthorized = .invalidToken
        var maxBodySize: UInt64?
        var responseTimeout: Duration = .seconds(30)
        var maxIdle = 4
    }

    /// A session for `http://localhost:8080`, forwarding to `https://api.test/base`.
    /// With `token`, the provider starts with that token cached.
    init(token: String? = "tok-1", _ options: Options = Options()) {
        tokens = ProviderHarness()
        if let token { tokens.warm(token) }
        var open: UpstreamPool.Opener!
        pool = UpstreamPool(loop: loop, endpoint: Endpoint(host: "api.test", port: 443, tlsContext: nil),
                            settings: .init(maxIdle: options.maxIdle, idleTimeout: .seconds(60), connectTimeout: .seconds(5)),
                            open: { completion in open(completion) })
        open = { [unowned self] completion in pendingOpens.append(completion) }
        let route = RouteContext(
            label: "0", pool: pool, tokens: tokens.provider,
            rules: ForwardingRules(upstreamAuthority: "api.test", basePath: "/base"),
            settings: .init(responseTimeout: LoopTimeout(options.responseTimeout), retryUnauthorized: options.retryUnauthorized),
            metrics: metrics.requests(route: "0"))
        let settings = SessionSettings(
            httpLimits: .default, upstreamHTTPLimits: .upstreamDefault,
            headerTimeout: .seconds(10), idleTimeout: .seconds(60), bodyTimeout: .seconds(30),
            maxBodySize: options.maxBodySize)
        let context = LoopContext(
            loop: loop, routes: [route], table: RouteTable([RouteMatch()], listenPort: 8080),
            hosts: HostAllowlist(extraNames: [], port: 8080), settings: settings,
            logger: CapturingLogHandler.logger(into: log), connections: ConnectionCounter(),
            sessions: SessionRegistry(loop: loop), metrics: metrics)
        onLoop {
            session = ClientSession(client: client, context: context, clientAddress: "127.0.0.1")
            session.start()
        }
    }

    func onLoop<T>(_ work: () throws -> T) rethrows -> T {
        try loop.queue.sync(execute: work)
    }

    // MARK: Client side

    func send(_ text: String) { onLoop { client.receive(text) } }
    func send(_ bytes: [UInt8]) { onLoop { client.receive(bytes) } }
    func clientEOF() { onLoop { client.receiveEOF() } }
    /// What the client has received since the last call.
    func clientReceived() -> String { onLoop { client.takeText() } }

    // MARK: Upstream side

    /// Connections the pool asked for and the test has not opened yet.
    var waitingOpens: Int { onLoop { pendingOpens.count } }

    /// Completes the oldest connection the pool asked for; returns the new upstream connection.
    /// When none was asked for, the test fails and gets a connection nothing uses.
    @discardableResult
    func openUpstream(sourceLocation: SourceLocation = #_sourceLocation) -> MemoryTransport {
        onLoop {
            let upstream = MemoryTransport(name: "upstream \(upstreams.count)")
            upstreams.append(upstream)
            guard !pendingOpens.isEmpty else {
                Issue.record("no upstream connection was asked for", sourceLocation: sourceLocation)
                return upstream
            }
            pendingOpens.removeFirst()(.success(upstream))
            return upstream
        }
    }

    /// Fails the oldest connection the pool asked for.
    func failOpen(_ error: ConnectionError) {
        onLoop { pendingOpens.removeFirst()(.failure(error)) }
    }

    /// The upstream's answer on connection `index` (the newest by default).
    func answer(_ text: String, on index: Int? = nil) {
        onLoop { upstreams[index ?? upstreams.count - 1].receive(text) }
    }

    /// What upstream connection `index` (the newest by default) has received since the last call.
    func upstreamReceived(_ index: Int? = nil) -> String {
        onLoop { upstreams[index ?? upstreams.count - 1].takeText() }
    }

    /// Upstream connection `index` (the newest by default). Read without `onLoop`, so it can be
    /// used inside it: the list changes only on the loop, which the test thread waits for.
    func upstream(_ index: Int? = nil) -> MemoryTransport {
        upstreams[index ?? upstreams.count - 1]
    }

    /// The name of the session's phase (`ClientSession.Phase.name`).
    var phase: String { onLoop { session.phase.name } }

    /// Access log lines written so far (`request` records).
    var accessLines: [String] {
        log.text.split(separator: "\n").map(String.init).filter { $0.contains("] request ") }
    }
}
