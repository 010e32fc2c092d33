#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Two connected, non-blocking stream sockets; both closed on deinit.
final class SocketPair {
    let client: Int32
    let server: Int32
    private var clientOpen = true

    init() {
        // OpenSSL writes with write(2): an alert sent to a peer that has
        // closed raises SIGPIPE, which would end the test process. The proxy's
        // main must ignore SIGPIPE for the same reason.
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [-1, -1]
        #if canImport(Glibc)
        let type = Int32(SOCK_STREAM.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        let status = socketpair(AF_UNIX, type, 0, &fds)
        precondition(status == 0, "socketpair failed: \(String(cString: strerror(errno)))")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        client = fds[0]
        server = fds[1]
    }

    /// Ends the client's side at the TCP level without any TLS alert.
    func closeClient() {
        guard clientOpen else { return }
        clientOpen = false
        close(client)
    }

    deinit {
        if clientOpen { close(client) }
        close(server)
    }
}
