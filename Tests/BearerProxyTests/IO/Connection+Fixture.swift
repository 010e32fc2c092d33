@testable import BearerProxy
import Glibc
import Testing

extension Connection {
    /// A started `Connection` on `loop` over one end of a Unix socket pair, and the other end as a
    /// plain blocking socket for the test to drive (reads on it time out after `peerTimeout`).
    static func overSocketPair(
        loop: EventLoop, delegate: (any ConnectionDelegate)? = nil, peerTimeout seconds: Int = 5
    ) throws -> (connection: Connection, peer: Int32) {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        try #require(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0)
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fds[1], SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let ours = fds[0]
        let connection = try loop.queue.sync {
            let connection = try Connection.accepted(fd: ours, loop: loop)
            connection.delegate = delegate
            connection.start()
            return connection
        }
        return (connection, fds[1])
    }
}
