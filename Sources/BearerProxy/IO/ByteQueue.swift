#if canImport(Glibc)
import Glibc
#endif

/// Bytes waiting to be written, consumed from the front. Its memory is kept between writes (up to
/// `keptCapacity` once empty), so a connection that streams a large body keeps one buffer instead
/// of allocating per write, and a head is written straight into it (`append(estimate:_:)`)
/// instead of into an array of its own that is then copied.
/// Not copyable: it owns its memory, freed in `deinit`.
struct ByteQueue: ~Copyable {
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0
    /// The unsent bytes are `base[start..<end]`.
    private var start = 0
    private var end = 0

    init() {}

    deinit {
        base?.deallocate()
    }

    var count: Int { end - start }
    var isEmpty: Bool { start == end }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        let destination = makeRoom(bytes.count)
        destination.copyMemory(from: source, byteCount: bytes.count)
        end += bytes.count
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends what `write` produces, written in place: room for `estimate` bytes is made first,
    /// and a writer that runs out of it is run again with twice as much.
    mutating func append(estimate: Int, _ write: (inout ByteWriter) -> Void) {
        var room = max(estimate, 64)
        while true {
            let destination = makeRoom(room)
            var writer = ByteWriter(UnsafeMutableRawBufferPointer(start: destination, count: room))
            write(&writer)
            if !writer.overflowed {
                end += writer.count
                return
            }
            room *= 2
        }
    }

    mutating func consume(_ n: Int) {
        start += n
        if start == end {
            start = 0
            end = 0
            if capacity > Self.keptCapacity { release() }
        }
    }

    /// Offers the unsent bytes to `send`, which returns how many of them went, and drops those:
    /// one access to the queue per write (each access to the property holding it is an
    /// exclusivity check) where reading and consuming apart were three. False when it was empty.
    mutating func sendFront(_ send: (UnsafeRawBufferPointer) -> Int) -> Bool {
        if start == end { return false }
        let sent = send(UnsafeRawBufferPointer(start: base.map { $0 + start }, count: end - start))
        if sent > 0 { consume(sent) }
        return true
    }

    mutating func removeAll() {
        release()
    }

    private static let keptCapacity = SizeLimits.keptQueueCapacity

    private mutating func release() {
        base?.deallocate()
        base = nil
        capacity = 0
        start = 0
        end = 0
    }

    /// Where `n` more bytes can be written after the unsent ones: moves those to the front when
    /// that makes room, else grows (at least doubling, so appends stay linear overall).
    private mutating func makeRoom(_ n: Int) -> UnsafeMutableRawPointer {
        if let base, capacity - end >= n { return base + end }
        let unsent = count
        if let base, start > 0, capacity - unsent >= n {
            memmove(base, base + start, unsent)  // the ranges may overlap
            start = 0
            end = unsent
            return base + end
        }
        let grown = max(capacity * 2, unsent + n, 256)
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
        if let base, unsent > 0 { fresh.copyMemory(from: base + start, byteCount: unsent) }
        base?.deallocate()
        base = fresh
        capacity = grown
        start = 0
        end = unsent
        return fresh + end
    }
}
