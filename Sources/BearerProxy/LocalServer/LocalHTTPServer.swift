import BearerTLS

/// A request as a local handler sees it: the parsed head (with the raw bytes as received) and
/// the whole body.
public struct LocalRequest: Sendable {
    var head: RequestHead
    public var body: [UInt8]
    public var peer: String
    /// SHA-256 of the TLS client certificate the peer presented (RFC 8705 §3.1 `x5t#S256`), if any.
    public var clientCertificateSHA256: [UInt8]? = nil

    public var method: String { head.methodString }
    public var target: String { head.targetString }
    /// The head exactly as it arrived on the wire.
    public var rawHead: [UInt8] { head.raw }
    public var headerFields: [(name: String, value: String)] {
        head.fields.map { (String(decoding: head.name($0), as: UTF8.self), head.valueString($0)) }
    }

    public func values(of name: String) -> [String] {
        let lower = name.lowercased()
        return headerFields.filter { $0.name.lowercased() == lower }.map(\.value)
    }
}

public struct LocalResponse: Sendable {
    public var status: Int
    public var headerFields: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headerFields: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    public static func json(_ status: Int, _ text: String, extraFields: [(String, String)] = []) -> LocalResponse {
        LocalResponse(status: status, headerFields: [("Content-Type", "application/json")] + extraFields, body: Array(text.utf8))
    }

    public static func text(_ status: Int, _ text: String) -> LocalResponse {
        LocalResponse(status: status, headerFields: [("Content-Type", "text/plain; charset=utf-8")], body: Array(text.utf8))
    }

    func serialized(close: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for (name, value) in headerFields { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n"
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 413: return "Content Too Large"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}

/// A small HTTP/1.1 server for the proxy's own local endpoints (admin) and for the demo's token
/// endpoint and echo upstream. Requests are buffered whole (bounded) and answered by a synchronous
/// handler on the connection's loop. Not for proxied traffic.
public final class LocalHTTPServer: Sendable {
    public typealias Handler = @Sendable (LocalRequest) -> LocalResponse

    private let listener: Listener
    public var address: SocketAddress { listener.address }

    /// Largest request body a local handler accepts.
    static let maxBodySize = SizeLimits.adminRequestBody

    public init(listen address: SocketAddress, group: EventLoopGroup, tlsContext: TLSContext? = nil, label: String, handler: @escaping Handler) throws(IOError) {
        listener = try Listener(binding: address, label: label)
        listener.start { fd, peer in
            let loop = group.next()
            loop.execute {
                let connection: Connection
                do {
                    connection = try Connection.accepted(fd: fd, loop: loop, tlsContext: tlsContext)
                } catch {
                    Socket.close(fd)
                    return
                }
                LocalHTTPSession(connection: connection, peer: peer.ip, handler: handler).start()
            }
        }
    }

    public func close() {
        listener.close()
    }
}

/// One connection of a `LocalHTTPServer`.
/// @unchecked Sendable: every mutable property is touched only on the connection's loop.
private final class LocalHTTPSession: ConnectionDelegate, @unchecked Sendable {
    private let connection: Connection
    private let peer: String
    private let handler: LocalHTTPServer.Handler
    private var input: [UInt8] = []
    private var head: RequestHead?
    private var decoder: BodyDecoder?
    private var body: [UInt8] = []

    static let idleTimeout: Duration = .seconds(30)

    init(connection: Connection, peer: String, handler: @escaping LocalHTTPServer.Handler) {
        self.connection = connection
        self.peer = peer
        self.handler = handler
    }

    func start() {
        connection.delegate = self
        connection.start()
        connection.deadline = EventLoop.deadline(after: Self.idleTimeout)
    }

    func connection(_ connection: any Transport, didRead bytes: UnsafeRawBufferPointer) {
        input.append(contentsOf: bytes)
        process()
    }

    private func process() {
        while connection.isOpen {
            if head == nil {
                let parsed: (head: RequestHead, consumed: Int)?
                do {
                    parsed = try input.withBytes { buffer throws(HTTP1Error) in
                        try HeadParser.parseRequestHead(buffer, limits: .default)
                    }
                    guard let parsed else { return }
                    input.removeFirst(parsed.consumed)
                    head = parsed.head
                    decoder = BodyDecoder(framing: try parsed.head.bodyFraming(), limits: .default)
                    body = []
                } catch {
                    respond(.json(400, "{\"error\":\"bad_request\",\"detail\":\"\(error.detail)\"}"), close: true)
                    return
                }
            }
            guard var decoder, let head else { return }
            let used: Int
            do {
                used = try input.withBytes { buffer throws(HTTP1Error) in
                    try decoder.decode(buffer) { body.append(contentsOf: $0) }
                }
            } catch {
                respond(.json(400, "{\"error\":\"bad_request\",\"detail\":\"\(error.detail)\"}"), close: true)
                return
            }
            input.removeFirst(used)
            self.decoder = decoder
            if body.count > LocalHTTPServer.maxBodySize {
                respond(.json(413, "{\"error\":\"body_too_large\"}"), close: true)
                return
            }
            guard decoder.isComplete else { return }
            var request = LocalRequest(head: head, body: body, peer: peer)
            request.clientCertificateSHA256 = connection.peerCertificateSHA256
            self.head = nil
            self.decoder = nil
            let close = head.version == .http1_0 || head.hasToken("close", inFieldsNamed: .connection)
            respond(handler(request), close: close)
        }
    }

    private func respond(_ response: LocalResponse, close: Bool) {
        connection.write(response.serialized(close: close))
        if close {
            connection.closeAfterFlush()
        } else {
            connection.flush()
            connection.deadline = EventLoop.deadline(after: Self.idleTimeout)
        }
    }

    func connectionDidReadEOF(_ connection: any Transport) {
        connection.closeAfterFlush()
    }

    func connectionDidTimeOut(_ connection: any Transport) {
        connection.close()
    }

    func connection(_ connection: any Transport, didFail error: ConnectionError) {}
    func connectionDidOpen(_ connection: any Transport) {}
    func connectionDidDrain(_ connection: any Transport) {}
}
