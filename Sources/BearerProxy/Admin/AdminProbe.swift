#if canImport(Glibc)
import Glibc
#endif

/// A blocking one-shot `GET` against the admin listener, for `bearer-proxy healthcheck`: a
/// container image without curl can still probe `/healthz`. Not for use on an event loop.
public enum AdminProbe {
    /// The status code of `GET path`, or why there is none. Connect, send and receive are each
    /// bounded by `timeout` (SO_SNDTIMEO bounds a blocking connect on Linux).
    public static func get(_ hostPort: HostPort, path: String, timeout: Duration) -> Result<Int, IOError> {
        let host = hostPort.host == "localhost" ? "127.0.0.1" : hostPort.host
        let addresses: [SocketAddress]
        if let numeric = SocketAddress(ip: host, port: hostPort.port) {
            addresses = [numeric]
        } else {
            do { addresses = try SocketAddress.resolveBlocking(host: host, port: hostPort.port) } catch { return .failure(error) }
        }
        guard let address = addresses.first else { return .failure(IOError("resolve \(host)", errno: 0, detail: "no address")) }
        let fd = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(IOError("socket", errno: errno)) }
        defer { Glibc.close(fd) }
        let seconds = timeout.components.seconds
        var limit = timeval(tv_sec: Int(seconds), tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard address.withSockAddr({ Glibc.connect(fd, $0, $1) }) == 0 else {
            return .failure(IOError("connect \(hostPort)", errno: errno))
        }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostPort)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            return .failure(IOError("send", errno: errno))
        }
        // Only the status line is needed: "HTTP/1.1 200 ...".
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while response.count < 12 {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { return .failure(IOError("recv", errno: errno)) }
            if n == 0 { break }
            response += buffer[..<n]
        }
        let line = String(decoding: response, as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1].prefix(3)) else {
            return .failure(IOError("read \(hostPort)", errno: 0, detail: "not an HTTP response"))
        }
        return .success(status)
    }
}
