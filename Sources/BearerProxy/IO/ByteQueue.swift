/// Bytes waiting to be written, consumed from the front. Storage is reused, so a connection that
/// streams a large body keeps one buffer instead of allocating per write.
struct ByteQueue {
    private var storage: [UInt8] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfUseful()
        storage.append(bytes: bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        compactIfUseful()
        storage.append(contentsOf: bytes)
    }

    mutating func consume(_ n: Int) {
        head += n
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= Self.keptCapacity)
            head = 0
        }
    }

    func withReadableBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[head...])) }
    }

    mutating func removeAll() {
        storage = []
        head = 0
    }

    private static let keptCapacity = SizeLimits.keptQueueCapacity

    private mutating func compactIfUseful() {
        if head > 0, head >= storage.count / 2 {
            storage.removeSubrange(0..<head)
            head = 0
        }
    }
}
