@testable import BearerProxy
import Dispatch
import Glibc
import Testing

/// How `Connection.closeAfterFlush` ends a connection, seen from the peer's end of a socket pair.
/// Serialized, and waiting with `Task.sleep`: the loops run on libdispatch's global threads, which
/// tests that block them would starve.
@Suite("Connection: closing after the last response", .serialized)
struct ConnectionCloseTests {
    /// Our end wrapped in a `Connection` on its own loop; the peer end stays a plain blocking socket.
    final class Pair {
        let loop = EventLoop(index: 0, label: "test.connection-close")
        let peer: Int32
        let connection: Connection

        init() throws {
            (connection, peer) = try Connection.overSocketPair(loop: loop)
            // Long enough that a slow run (ThreadSanitizer on a busy machine) cannot see the
            // linger end on its own before the test checks it; the timeout has its own test.
            let connection = self.connection
            loop.queue.sync { connection.lingerTimeout = .seconds(30) }
        }

        deinit {
            let connection = self.connection
            loop.queue.sync { connection.close() }
            Glibc.close(peer)
        }

        /// The connection's phase, read on its loop.
        var phase: Connection.Phase {
            let connection = self.connection
            return loop.queue.sync { connection.phase }
        }

        func answerAndClose(_ text: String, peerIsDone: Bool) {
            let connection = self.connection
            loop.queue.sync {
                connection.write(Array(text.utf8))
                connection.closeAfterFlush(peerIsDone: peerIsDone)
            }
        }

        func send(_ text: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { Glibc.send(peer, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == text.utf8.count
        }

        /// Everything the connection sends until its FIN (nil if none comes within the timeout).
        func readToEOF() -> String? {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(peer, &chunk, chunk.count, 0)
                if n == 0 { return String(decoding: bytes, as: UTF8.self) }
                if n < 0 { return nil }
                bytes += chunk[..<n]
            }
        }

        /// True once our end is closed for good: the peer's socket then reports POLLHUP (a Unix
        /// socket whose partner is closed; our earlier SHUT_WR alone only ends its input).
        func ourEndClosed(within limit: Duration) async -> Bool {
            let clock = ContinuousClock()
            let end = clock.now + limit
            repeat {
                var entry = pollfd(fd: peer, events: Int16(POLLIN), revents: 0)
                if poll(&entry, 1, 0) == 1, entry.revents & Int16(POLLHUP) != 0 { return true }
                try? await Task.sleep(for: .milliseconds(10))
            } while clock.now < end
            return false
        }
    }

    // The phase is checked right after `closeAfterFlush` returns, on the loop, so the tests do not
    // depend on how fast the loop runs; the descriptor itself closes a little later, and the
    // generous POLLHUP waits only make sure it does.

    @Test("a peer that said it sends nothing more gets the answer and a close at once, without lingering")
    func peerDoneClosesAtOnce() async throws {
        let pair = try Pair()
        pair.answerAndClose("answer", peerIsDone: true)

        #expect(pair.phase == .closed)
        #expect(pair.readToEOF() == "answer")
        #expect(await pair.ourEndClosed(within: .seconds(10)))
    }

    @Test("otherwise the connection lingers: what the peer still sends is read and dropped until its EOF")
    func lingersUntilPeerEOF() async throws {
        let pair = try Pair()
        pair.answerAndClose("answer", peerIsDone: false)

        #expect(pair.phase == .lingering)
        #expect(pair.readToEOF() == "answer")
        #expect(pair.send("late bytes"))
        try await Task.sleep(for: .milliseconds(50))
        #expect(pair.phase == .lingering)
        shutdown(pair.peer, Int32(SHUT_WR))
        #expect(await pair.ourEndClosed(within: .seconds(10)))
    }

    @Test("a peer that never closes is closed when the linger ends")
    func lingerEnds() async throws {
        let pair = try Pair()
        let connection = pair.connection
        pair.loop.queue.sync { connection.lingerTimeout = .milliseconds(300) }
        pair.answerAndClose("answer", peerIsDone: false)

        #expect(pair.phase == .lingering)
        #expect(pair.readToEOF() == "answer")
        #expect(await pair.ourEndClosed(within: .seconds(10)))
    }

    @Test("a peer that said it was done but had sent more bytes still gets the full linger")
    func unreadInputKeepsLingering() async throws {
        let pair = try Pair()
        // Not reading: the bytes stay unread in the socket, as a request body the proxy refused would.
        let connection = pair.connection
        pair.loop.queue.sync { connection.pauseReading() }
        #expect(pair.send("unexpected"))
        pair.answerAndClose("answer", peerIsDone: true)

        #expect(pair.phase == .lingering)
        #expect(pair.readToEOF() == "answer")
        shutdown(pair.peer, Int32(SHUT_WR))
        #expect(await pair.ourEndClosed(within: .seconds(10)))
    }
}
