import BearerTLS

/// Idle keep-alive connections to the upstream, one pool per event loop.
///
/// Because a pool serves only the connections of its own loop, taking and returning a connection
/// needs no lock. The most recently used connection is handed out first (it is the least likely
/// to have been closed by the server). While idle, a connection is watched: any input, EOF or
/// error means the server closed it or broke the protocol, and it is dropped.
/// @unchecked Sendable: every mutable property is touched only on `loop.queue`.
final class UpstreamPool: ConnectionDelegate, @unchecked Sendable {
    struct Settings: Sendable {
        var maxIdle: Int
        var idleTimeout: LoopTimeout
        var connectTimeout: Duration
    }

    struct Statistics: Sendable, Equatable {
        var created = 0
        var reused = 0
        var idle = 0
    }

    /// Opens one new connection on the loop and calls back there exactly once.
    typealias Opener = (_ completion: @escaping (Result<any Transport, ConnectionError>) -> Void) -> Void

    let loop: EventLoop
    let endpoint: Endpoint
    private let settings: Settings
    private let open: Opener
    private var idle: [any Transport] = []
    private(set) var statistics = Statistics() {
        didSet {
            guard statistics.idle != oldValue.idle, !idleReportQueued, metrics != nil || routeMetrics != nil else { return }
            idleReportQueued = true
            loop.defer(self)
        }
    }
    /// The idle count the gauges were last moved to, and whether a report is due after this batch.
    /// A request takes a connection and hands it back within one batch or two, so reporting once
    /// per batch spares the gauges (atomics shared by all loops) most of their updates.
    private var reportedIdle = 0
    private var idleReportQueued = false
    /// Shared counters; nil in unit tests that build a bare pool.
    var metrics: PoolMetrics?
    /// The route's own series (its pools on every loop add up there).
    var routeMetrics: RequestMetrics?
    /// Set when a reload replaced this pool: connections handed back are closed, not kept.
    var retired = false

    /// Connections to `endpoint`, opened by `Connector` (TCP, then TLS when the endpoint has a
    /// context). `currentTLS`, when given, supplies the TLS context for each new connection (a
    /// rotated client certificate is taken up by the next one).
    convenience init(loop: EventLoop, endpoint: Endpoint, settings: Settings, resolver: AddressResolver,
                     currentTLS: (@Sendable () -> TLSContext)? = nil) {
        self.init(loop: loop, endpoint: endpoint, settings: settings) { completion in
            var target = endpoint
            if let currentTLS { target.tlsContext = currentTLS() }
            Connector.connect(to: target, on: loop, resolver: resolver, timeout: settings.connectTimeout) { result in
                completion(result.map { $0 })
            }
        }
    }

    /// Connections opened by `open` (tests hand out in-memory transports).
    init(loop: EventLoop, endpoint: Endpoint, settings: Settings, open: @escaping Opener) {
        self.loop = loop
        self.endpoint = endpoint
        self.settings = settings
        self.open = open
    }

    /// Hands out an idle connection at once, or opens a new one. `completion` runs on the loop;
    /// the caller must set itself as the connection's delegate there.
    /// With `fresh`, idle connections are skipped (a retry after a stale one failed).
    func acquire(fresh: Bool = false, _ completion: @escaping (Result<(connection: any Transport, reused: Bool), ConnectionError>) -> Void) {
        loop.assertOnLoop()
        if !fresh, let idle = takeIdle() {
            completion(.success((idle, true)))
            return
        }
        open { [self] result in
            switch result {
            case .success(let connection):
                statistics.created += 1
                metrics?.created.increment()
                if let routeMetrics {
                    routeMetrics.upstreamCreated.increment()
                    routeMetrics.upstreamOpen.increment()
                    connection.onClose = { routeMetrics.upstreamOpen.decrement() }
                }
                if endpoint.tlsContext != nil { metrics?.tls.succeeded() }
            case .failure(.tls(let error)):
                metrics?.tls.failed(error.kind)
                routeMetrics?.upstreamTLSFailures.increment()
            case .failure(.io):
                break
            }
            completion(result.map { ($0, false) })
        }
    }

    /// The most recently released open connection, if any: `acquire`'s common case, without a
    /// completion to allocate.
    func takeIdle() -> (any Transport)? {
        loop.assertOnLoop()
        while let connection = idle.popLast() {
            guard connection.isOpen else { continue }
            connection.deadline = 0
            connection.delegate = nil
            statistics.reused += 1
            metrics?.reused.increment()
            statistics.idle = idle.count
            return connection
        }
        return nil
    }

    /// Returns a connection whose last exchange ended cleanly. A full pool closes it instead.
    func release(_ connection: any Transport) {
        loop.assertOnLoop()
        guard !retired, connection.isOpen, connection.pendingOutputBytes == 0 else {
            connection.close()
            return
        }
        if idle.count >= settings.maxIdle {
            // Keep the warmest connections: drop the one idle the longest.
            idle.removeFirst().close()
        }
        connection.delegate = self
        connection.deadline = EventLoop.deadline(after: settings.idleTimeout)
        connection.resumeReading()
        idle.append(connection)
        statistics.idle = idle.count
    }

    /// Closes every idle connection (shutdown, reload).
    func closeIdle() {
        loop.assertOnLoop()
        for connection in idle { connection.close() }
        idle.removeAll()
        statistics.idle = 0
    }

    private func discard(_ connection: any Transport) {
        idle.removeAll { $0 === connection }
        statistics.idle = idle.count
        connection.close()
    }

    // MARK: ConnectionDelegate, for idle connections only

    func connection(_ connection: any Transport, didRead bytes: UnsafeRawBufferPointer) {
        discard(connection)  // nothing may arrive between exchanges
    }

    func connectionDidReadEOF(_ connection: any Transport) {
        discard(connection)
    }

    func connection(_ connection: any Transport, didFail error: ConnectionError) {
        idle.removeAll { $0 === connection }
        statistics.idle = idle.count
    }

    func connectionDidTimeOut(_ connection: any Transport) {
        discard(connection)
    }

    func connectionDidOpen(_ connection: any Transport) {}
    func connectionDidDrain(_ connection: any Transport) {}
}

extension UpstreamPool: DeferredWork {
    /// Moves the idle gauges by this pool's change since the last report: the gauges are shared
    /// by all loops' pools.
    func runDeferred() {
        idleReportQueued = false
        let change = statistics.idle - reportedIdle
        guard change != 0 else { return }
        reportedIdle = statistics.idle
        metrics?.idle.increment(by: Double(change))
        routeMetrics?.upstreamIdle.increment(by: Double(change))
    }
}
