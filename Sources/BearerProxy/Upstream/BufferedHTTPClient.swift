/// Sends one request and collects the whole response, bounded in size and time.
///
/// For control-plane calls only (the token endpoint); proxied traffic streams through
/// the proxy's client sessions instead. Runs on one loop; `completion` is called there exactly once.
/// @unchecked Sendable: every mutable property is touched only on `loop.queue`.
final class BufferedHTTPClient: ConnectionDelegate, @unchecked Sendable {
    struct Response: Sendable {
        var head: ResponseHead
        var body: [UInt8]
        var status: Int { head.status }
    }

    enum Failure: Error, Sendable, CustomStringConvertible {
        case connect(ConnectionError)
        case timedOut(Duration)
        case invalidResponse(String)
        case responseTooLarge(Int)
        case connectionLost(String)

        var description: String {
            switch self {
            case .connect(let error): return error.description
            case .timedOut(let limit): return "no complete response within \(limit)"
            case .invalidResponse(let why): return "invalid HTTP response: \(why)"
            case .responseTooLarge(let limit): return "response larger than \(limit) bytes"
            case .connectionLost(let why): return "connection lost before the response was complete: \(why)"
            }
        }
    }

    typealias Completion = @Sendable (Result<Response, Failure>) -> Void

    private let loop: EventLoop
    private let request: [UInt8]
    private let timeout: Duration
    private let maxResponseBytes: Int
    private var completion: Completion?
    private var connection: Connection?
    private var received: [UInt8] = []
    private var head: ResponseHead?
    private var decoder: BodyDecoder?
    private var body: [UInt8] = []

    private init(loop: EventLoop, request: [UInt8], timeout: Duration, maxResponseBytes: Int, completion: @escaping Completion) {
        self.loop = loop
        self.request = request
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.completion = completion
    }

    /// `request` is the complete request (head and body). It should ask for `Connection: close`.
    static func send(
        _ request: [UInt8], to endpoint: Endpoint, on loop: EventLoop, resolver: AddressResolver,
        timeout: Duration, maxResponseBytes: Int = 1 << 20, tlsMetrics: TLSHandshakeMetrics? = nil,
        completion: @escaping Completion
    ) {
        let client = BufferedHTTPClient(loop: loop, request: request, timeout: timeout, maxResponseBytes: maxResponseBytes, completion: completion)
        let deadline = EventLoop.deadline(after: timeout)
        loop.execute {
            Connector.connect(to: endpoint, on: loop, resolver: resolver, timeout: timeout) { result in
                switch result {
                case .success(let connection):
                    if endpoint.tlsContext != nil { tlsMetrics?.succeeded() }
                    client.connection = connection
                    connection.delegate = client
                    connection.deadline = deadline
                    connection.write(client.request)
                    connection.flush()
                case .failure(let error):
                    if case .tls(let tlsError) = error { tlsMetrics?.failed(tlsError.kind) }
                    client.finish(.failure(.connect(error)))
                }
            }
        }
    }

    private func finish(_ result: Result<Response, Failure>) {
        connection?.close()
        connection = nil
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }

    func connection(_ connection: any Transport, didRead bytes: UnsafeRawBufferPointer) {
        if head == nil {
            received.append(contentsOf: bytes)
            parseHead()
        } else {
            decodeBody(bytes)
        }
    }

    private func parseHead() {
        do throws(HTTP1Error) {
            while head == nil {
                let parsed = try received.withBytes { buffer throws(HTTP1Error) in
                    try HeadParser.parseResponseHead(buffer, limits: .default)
                }
                guard let (parsedHead, consumed) = parsed else { return }
                received.removeFirst(consumed)
                // RFC 9110 §15.2: interim responses are followed by the final one.
                if parsedHead.status < 200 { continue }
                head = parsedHead
                decoder = BodyDecoder(framing: try parsedHead.bodyFraming(requestMethodIsHEAD: false), limits: .default)
            }
        } catch {
            finish(.failure(.invalidResponse(error.detail)))
            return
        }
        let rest = received
        received = []
        rest.withUnsafeBytes { decodeBody($0) }
    }

    private func decodeBody(_ bytes: UnsafeRawBufferPointer) {
        guard var decoder else { return }
        do throws(HTTP1Error) {
            _ = try decoder.decode(bytes) { body.append(contentsOf: $0) }
        } catch {
            finish(.failure(.invalidResponse(error.detail)))
            return
        }
        self.decoder = decoder
        if body.count > maxResponseBytes {
            finish(.failure(.responseTooLarge(maxResponseBytes)))
        } else if decoder.isComplete, let head {
            finish(.success(Response(head: head, body: body)))
        }
    }

    func connectionDidReadEOF(_ connection: any Transport) {
        guard let head, var decoder else {
            finish(.failure(.connectionLost("closed before the response head")))
            return
        }
        do throws(HTTP1Error) {
            try decoder.finishAtEOF()
            finish(.success(Response(head: head, body: body)))
        } catch {
            finish(.failure(.connectionLost(error.detail)))
        }
    }

    func connection(_ connection: any Transport, didFail error: ConnectionError) {
        self.connection = nil
        finish(.failure(.connectionLost(error.description)))
    }

    func connectionDidTimeOut(_ connection: any Transport) {
        finish(.failure(.timedOut(timeout)))
    }

    func connectionDidOpen(_ connection: any Transport) {}
    func connectionDidDrain(_ connection: any Transport) {}
}
