import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response as the raw client read it.
struct RawResponse {
    var status: Int
    var headerFields: [(name: String, value: String)]
    var body: [UInt8]
    var rawHead: String
    /// The heads of the 1xx responses that came before this one, as received.
    var interimHeads: [String] = []

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    func values(of name: String) -> [String] {
        headerFields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func value(of name: String) -> String? { values(of: name).first }

    /// The JSON body's top-level string field (error bodies only; enough for `{"error":"x",...}`).
    func jsonString(_ key: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        return object[key] as? String
    }
}

struct RawClientError: Error, CustomStringConvertible {
    var description: String
}

/// A blocking plain-TCP client that sends exactly the bytes a test gives it, so tests can send
/// what an attacker or an old client would. Reads time out after `readTimeout`.
/// Not Sendable: one test thread owns it.
final class RawHTTPClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var peerClosed = false

    init(port: UInt16, readTimeout: Duration = .seconds(5)) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawClientError(description: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: Int(readTimeout.components.seconds), tv_usec: Int(readTimeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let text = String(cString: strerror(errno))
            Glibc.close(fd)
            throw RawClientError(description: "connect to 127.0.0.1:\(port): \(text)")
        }
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RawClientError(description: "send: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Half-closes the sending side (the client's FIN).
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads more bytes into the buffer; false at EOF. Throws on timeout or error.
    @discardableResult
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { peerClosed = true; return false }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw RawClientError(description: "read timed out") }
            if errno == ECONNRESET { peerClosed = true; return false }
            throw RawClientError(description: "recv: \(String(cString: strerror(errno)))")
        }
        buffer.append(contentsOf: chunk[..<n])
        return true
    }

    /// Reads one complete response (Content-Length, chunked, or until close). 1xx heads are skipped.
    func readResponse(toHEAD: Bool = false) throws -> RawResponse {
        var interimHeads: [String] = []
        while true {
            let separator: [UInt8] = Array("\r\n\r\n".utf8)
            var headEnd: Int?
            while headEnd == nil {
                headEnd = buffer.firstRange(of: separator)?.upperBound
                if headEnd == nil, try !fill() {
                    throw RawClientError(description: "connection closed before a complete head (\(buffer.count) bytes)")
                }
            }
            let rawHead = String(decoding: buffer[..<headEnd!], as: UTF8.self)
            buffer.removeFirst(headEnd!)
            let lines = rawHead.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            let statusParts = lines[0].split(separator: " ", maxSplits: 2)
            guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
                throw RawClientError(description: "bad status line: \(lines[0])")
            }
            let fields = lines.dropFirst().map { line -> (name: String, value: String) in
                let colon = line.firstIndex(of: ":") ?? line.endIndex
                return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
            }
            var response = RawResponse(status: status, headerFields: fields, body: [], rawHead: rawHead, interimHeads: interimHeads)
            if status < 200, status != 101 {
                interimHeads.append(rawHead)
                continue
            }
            // 101: what follows is the new protocol's, read with `readBytes`.
            if toHEAD || status == 101 || status == 204 || status == 304 { return response }
            if let te = response.value(of: "transfer-encoding"), te.lowercased().contains("chunked") {
                response.body = try readChunkedBody()
            } else if let length = response.value(of: "content-length").flatMap(Int.init) {
                while buffer.count < length {
                    if try !fill() { throw RawClientError(description: "closed after \(buffer.count) of \(length) body bytes") }
                }
                response.body = Array(buffer[..<length])
                buffer.removeFirst(length)
            } else {
                while try fill() {}
                response.body = buffer
                buffer = []
            }
            return response
        }
    }

    private func readLine() throws -> String {
        while true {
            if let end = buffer.firstRange(of: [0x0D, 0x0A]) {
                let line = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                buffer.removeFirst(end.upperBound)
                return line
            }
            if try !fill() { throw RawClientError(description: "closed inside a chunked body") }
        }
    }

    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeText = try readLine().split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw RawClientError(description: "bad chunk size line: \(sizeText)")
            }
            if size == 0 {
                while try !readLine().isEmpty {}  // trailer section
                return body
            }
            while buffer.count < size + 2 {
                if try !fill() { throw RawClientError(description: "closed inside a chunk") }
            }
            body.append(contentsOf: buffer[..<size])
            buffer.removeFirst(size + 2)
        }
    }

    /// Exactly `count` raw bytes (after a 101, say); throws if the connection ends first.
    func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            if try !fill() { throw RawClientError(description: "closed after \(buffer.count) of \(count) bytes") }
        }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// True when the peer closes the connection (EOF or reset) before the read timeout, with
    /// no further bytes beyond what was already buffered.
    func waitForClose() -> Bool {
        do {
            while try fill() {}
            return true
        } catch {
            return peerClosed
        }
    }

    /// Sends one request and reads its response.
    func exchange(_ request: String) throws -> RawResponse {
        try send(request)
        return try readResponse()
    }
}
