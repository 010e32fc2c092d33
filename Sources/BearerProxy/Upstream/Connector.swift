import BearerTLS
#if canImport(Glibc)
import Glibc
#endif

/// Opens one connection to an endpoint: resolve, then try each address in turn until one
/// connects (and completes its TLS handshake) within the connect timeout.
///
/// Lives on one loop; `completion` is called there exactly once.
/// @unchecked Sendable: every mutable property is touched only on `loop.queue`.
final class Connector: ConnectionDelegate, @unchecked Sendable {
    typealias Completion = (Result<Connection, ConnectionError>) -> Void

    private let loop: EventLoop
    private let endpoint: Endpoint
    private let timeout: Duration
    private var addresses: [SocketAddress] = []
    private var lastError: ConnectionError?
    private var completion: Completion?
    private var attempt: Connection?

    private init(loop: EventLoop, endpoint: Endpoint, timeout: Duration, completion: @escaping Completion) {
        self.loop = loop
        self.endpoint = endpoint
        self.timeout = timeout
        self.completion = completion
    }

    static func connect(
        to endpoint: Endpoint, on loop: EventLoop, resolver: AddressResolver,
        timeout: Duration, completion: @escaping Completion
    ) {
        let connector = Connector(loop: loop, endpoint: endpoint, timeout: timeout, completion: completion)
        resolver.resolve(host: endpoint.host, port: endpoint.port, on: loop) { result in
            switch result {
            case .success(let addresses):
                connector.addresses = addresses
                connector.tryNext()
            case .failure(let error):
                connector.finish(.failure(.io(error)))
            }
        }
    }

    private func tryNext() {
        guard !addresses.isEmpty else {
            finish(.failure(lastError ?? .io(IOError("connect \(endpoint.description)", errno: 0, detail: "no address"))))
            return
        }
        let address = addresses.removeFirst()
        do {
            let connection = try Connection.connect(
                to: address, loop: loop, tlsContext: endpoint.tlsContext,
                serverName: endpoint.host, delegate: self)
            connection.deadline = EventLoop.deadline(after: timeout)
            attempt = connection
        } catch {
            lastError = error
            tryNext()
        }
    }

    private func finish(_ result: Result<Connection, ConnectionError>) {
        attempt = nil
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }

    func connectionDidOpen(_ connection: any Transport) {
        guard let opened = attempt, opened === connection else { return }
        opened.deadline = 0
        opened.delegate = nil
        finish(.success(opened))
    }

    func connection(_ connection: any Transport, didFail error: ConnectionError) {
        // A certificate problem is the same on every address; report it instead of trying on.
        if case .tls = error {
            finish(.failure(error))
            return
        }
        lastError = error
        tryNext()
    }

    func connectionDidTimeOut(_ connection: any Transport) {
        connection.close()
        lastError = .io(IOError("connect \(endpoint.description)", errno: ETIMEDOUT, detail: "timed out after \(timeout)"))
        tryNext()
    }

    func connection(_ connection: any Transport, didRead bytes: UnsafeRawBufferPointer) {}
    func connectionDidReadEOF(_ connection: any Transport) {}
    func connectionDidDrain(_ connection: any Transport) {}
}
