@testable import BearerProxy
import Dispatch
import Glibc
import Testing

/// A `Connection` registered edge-triggered with its loop's epoll set, driven from the peer's end
/// of a socket pair: the edges it must not miss, and the ones it must not act on twice.
/// Serialized, and waiting with `Task.sleep`: the loops run on libdispatch's global threads.
@Suite("Connection over the loop's epoll set (edge-triggered)", .serialized)
struct ConnectionReadinessTests {
    /// Records what the connection reports. @unchecked Sendable: touched only on the loop's queue.
    final class Recorder: ConnectionDelegate, @unchecked Sendable {
        var received: [UInt8] = []
        var reads = 0
        var eof = false
        var drained = 0
        var failure: ConnectionError?
        /// Called on each read, on the loop.
        var onRead: ((any Transport) -> Void)?

        func connectionDidOpen(_ connection: any Transport) {}
        func connection(_ connection: any Transport, didRead bytes: UnsafeRawBufferPointer) {
            received.append(contentsOf: bytes)
            reads += 1
            onRead?(connection)
        }
        func connectionDidReadEOF(_ connection: any Transport) { eof = true }
        func connectionDidDrain(_ connection: any Transport) { drained += 1 }
        func connection(_ connection: any Transport, didFail error: ConnectionError) { failure = error }
        func connectionDidTimeOut(_ connection: any Transport) {}
    }

    /// Our end as a started `Connection` on `loop`; the peer end a plain blocking socket.
    /// @unchecked Sendable: its properties are set once in `init`; the connection and the recorder
    /// are used only on `loop.queue` (`onLoop`).
    final class Pair: @unchecked Sendable {
        let loop: EventLoop
        let peer: Int32
        let connection: Connection
        let recorder: Recorder

        init(loop: EventLoop = EventLoop(index: 0, label: "test.readiness")) throws {
            self.loop = loop
            let recorder = Recorder()
            self.recorder = recorder
            (connection, peer) = try Connection.overSocketPair(loop: loop, delegate: recorder, peerTimeout: 10)
        }

        deinit {
            let connection = self.connection
            loop.queue.sync { connection.close() }
            Glibc.close(peer)
        }

        func onLoop<T>(_ body: (Recorder, Connection) -> T) -> T {
            loop.queue.sync { body(recorder, connection) }
        }

        func send(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.send(peer, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { return }
                offset += n
            }
        }

        func receive(_ count: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while bytes.count < count {
                let n = recv(peer, &chunk, min(chunk.count, count - bytes.count), 0)
                guard n > 0 else { break }
                bytes += chunk[..<n]
            }
            return bytes
        }
    }

    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    }

    static func wait(_ what: String, _ condition: @escaping @Sendable () -> Bool) async {
        let clock = ContinuousClock()
        let end = clock.now + .seconds(10)
        while !condition() {
            guard clock.now < end else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test("input far larger than one pass's reads arrives whole: the read budget defers the rest, no edge is needed")
    func moreThanOnePass() async throws {
        let pair = try Pair()
        let data = Self.pattern(3 << 20)
        // A blocking sender of its own, not a loop thread: the socket pair holds far less than 3 MiB.
        DispatchQueue(label: "test.readiness.sender").async { pair.send(data) }
        await Self.wait("3 MiB to arrive") { pair.onLoop { recorder, _ in recorder.received.count } == data.count }
        pair.onLoop { recorder, _ in
            #expect(recorder.received == data)
            // More reads than one pass allows, so the deferred passes did their part.
            #expect(recorder.reads > Connection.readsPerPass)
        }
    }

    @Test("a peer that writes and half-closes at once: the bytes and then the end of stream, from one edge")
    func halfCloseInTheSameEdge() async throws {
        let pair = try Pair()
        // Sent while the loop is busy, so data and FIN are one edge when it looks.
        pair.loop.queue.sync {
            pair.send(Array("last words".utf8))
            shutdown(pair.peer, Int32(SHUT_WR))
        }
        await Self.wait("the end of stream") { pair.onLoop { recorder, _ in recorder.eof } }
        pair.onLoop { recorder, _ in
            #expect(String(decoding: recorder.received, as: UTF8.self) == "last words")
        }
    }

    @Test("a write larger than the socket takes waits for the writable edge, then drains and says so")
    func writeWaitsForWritable() async throws {
        let pair = try Pair()
        let data = Self.pattern(4 << 20)
        let pending = pair.onLoop { _, connection in
            connection.write(data)
            connection.flush()
            return connection.pendingOutputBytes
        }
        #expect(pending > 0, "a 4 MiB write cannot fit a socket pair's buffer")
        #expect(pair.onLoop { recorder, _ in recorder.drained } == 0)
        let received = pair.receive(data.count)
        #expect(received == data)
        await Self.wait("the drain callback") { pair.onLoop { recorder, _ in recorder.drained } == 1 }
        #expect(pair.onLoop { _, connection in connection.pendingOutputBytes } == 0)
    }

    @Test("input that arrives while reading is paused is delivered on resume, though its edge came during the pause")
    func pauseAndResume() async throws {
        let pair = try Pair()
        pair.onLoop { _, connection in connection.pauseReading() }
        pair.send(Array("while paused".utf8))
        try await Task.sleep(for: .milliseconds(50))
        #expect(pair.onLoop { recorder, _ in recorder.received.isEmpty })
        pair.onLoop { _, connection in connection.resumeReading() }
        await Self.wait("the paused input") { pair.onLoop { recorder, _ in recorder.received.count } == 12 }
    }

    @Test("a connection closed by another's event in the same batch hears nothing more, and nothing breaks")
    func closedEarlierInTheBatch() async throws {
        let loop = EventLoop(index: 0, label: "test.readiness.batch")
        let first = try Pair(loop: loop)
        let second = try Pair(loop: loop)
        // Whichever is handled first closes the other.
        first.recorder.onRead = { _ in second.connection.close() }
        second.recorder.onRead = { _ in first.connection.close() }
        loop.queue.sync {
            first.send(Array("one".utf8))
            second.send(Array("two".utf8))
        }
        await Self.wait("one of them to read") { loop.queue.sync { first.recorder.reads + second.recorder.reads } >= 1 }
        try await Task.sleep(for: .milliseconds(50))
        loop.queue.sync {
            #expect(first.recorder.reads + second.recorder.reads == 1)
            #expect(first.connection.phase == .closed || second.connection.phase == .closed)
        }
        // The loop still serves new connections.
        let third = try Pair(loop: loop)
        third.send(Array("still here".utf8))
        await Self.wait("a later connection's input") { loop.queue.sync { third.recorder.received.count } == 10 }
    }
}
