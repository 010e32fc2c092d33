@testable import BearerProxy
import Testing

@Suite("ByteQueue")
struct ByteQueueTests {
    /// What `sendFront` offers, as bytes.
    static func offered(_ queue: inout ByteQueue, taking n: Int) -> (offered: Bool, bytes: [UInt8]) {
        var seen: [UInt8] = []
        let offered = queue.sendFront { bytes in
            seen = Array(bytes)
            return min(n, bytes.count)
        }
        return (offered, seen)
    }

    @Test("sendFront offers the unsent bytes in order and drops exactly what was sent")
    func partialSends() {
        var queue = ByteQueue()
        queue.append(Array("hello ".utf8))
        queue.append(estimate: 5) { $0.append("world") }
        let queued = queue.count
        #expect(queued == 11)

        var step = Self.offered(&queue, taking: 3)
        #expect(step.offered && step.bytes == Array("hello world".utf8))
        let left = queue.count
        #expect(left == 8)
        step = Self.offered(&queue, taking: 0)  // the socket took nothing: nothing is dropped
        #expect(step.offered && step.bytes == Array("lo world".utf8))
        step = Self.offered(&queue, taking: 100)
        #expect(step.offered && step.bytes == Array("lo world".utf8))
        let emptied = queue.isEmpty
        #expect(emptied)
        step = Self.offered(&queue, taking: 100)
        #expect(!step.offered && step.bytes.isEmpty)

        // Emptied, the queue takes more and offers only that.
        queue.append(Array("next".utf8))
        step = Self.offered(&queue, taking: 100)
        #expect(step.offered && step.bytes == Array("next".utf8))
    }
}
