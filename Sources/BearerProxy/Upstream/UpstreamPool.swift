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
        var idleTimeout: Duration
        var connectTimeout: Duration
    }

    struct Statistics: Sendable, Equatable {
        var created = 0
        var reused = 0
        var idle = 0
    }

    let loop: EventLoop
    let endpoint: Endpoint
    private let settings: Settings
    private let resolver: AddressResolver
    private var idle: [Connection] = []
    private(set) var statistics = Statistics() {
        // The idle gauge is shared by all loops' pools, so it moves by this pool's change.
        didSet { if statistics.idle != oldValue.idle { metrics?.idle.increment(by: Double(statistics.idle - oldValue.idle)) } }
    }
    /// Shared counters; nil in unit tests that build a bare pool.
    var metrics: PoolMetrics?
    /// Set when a reload replaced this pool: connections handed back are closed, not kept.
    var retired = false

    init(loop: EventLoop, endpoint: Endpoint, settings: Settings, resolver: AddressResolver) {
        self.loop = loop
        self.endpoint = endpoint
        self.settings = settings
        self.resolver = resolver
    }

    /// Hands out an idle connection at once, or opens a new one. `completion` runs on the loop;
    /// the caller must set itself as the connection's delegate there.
    /// With `fresh`, idle connections are skipped (a retry after a stale one failed).
    func acquire(fresh: Bool = false, _ completion: @escaping (Result<(connection: Connection, reused: Bool), ConnectionError>) -> Void) {
        loop.assertOnLoop()
        if !fresh, let idle = takeIdle() {
            completion(.success((idle, true)))
            return
        }
        Connector.connect(to: endpoint, on: loop, resolver: resolver, timeout: settings.connectTimeout) { [self] result in
            switch result {
            case .success:
                statistics.created += 1
                metrics?.created.increment()
                if endpoint.tlsContext != nil { metrics?.tls.succeeded() }
            case .failure(.tls(let error)):
                metrics?.tls.failed(error.kind)
            case .failure(.io):
                break
            }
            completion(result.map { ($0, false) })
        }
    }

    /// The most recently released open connection, if any: `acquire`'s common case, without a
    /// completion to allocate.
    func takeIdle() -> Connection? {
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
    func release(_ connection: Connection) {
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

    private func discard(_ connection: Connection) {
        idle.removeAll { $0 === connection }
        statistics.idle = idle.count
        connection.close()
    }

    // MARK: ConnectionDelegate, for idle connections only

    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        discard(connection)  // nothing may arrive between exchanges
    }

    func connectionDidReadEOF(_ connection: Connection) {
        discard(connection)
    }

    func connection(_ connection: Connection, didFail error: ConnectionError) {
        idle.removeAll { $0 === connection }
        statistics.idle = idle.count
    }

    func connectionDidTimeOut(_ connection: Connection) {
        discard(connection)
    }

    func connectionDidOpen(_ connection: Connection) {}
    func connectionDidDrain(_ connection: Connection) {}
}
