import Synchronization

/// The most recent failed requests, for the status page: a fixed ring of records written by the
/// event loops without a lock and read by the admin listener.
///
/// A writer claims the next slot with one atomic add, marks it busy (an odd sequence number),
/// stores the record's words and publishes it with an even one; a reader keeps a record only
/// when the slot's sequence was even and unchanged before and after it copied the words (a
/// sequence lock). Every word is an atomic, so a reader racing a writer sees a torn record it
/// throws away, never undefined memory. A failed request costs one add and about 40 stores;
/// a successful one costs nothing.
/// @unchecked Sendable: `cells` is written once in `init` and freed in `deinit`; in between every
/// access to it is an atomic load or store, and `next` is an atomic.
final class RecentFailures: @unchecked Sendable {
    struct Record: Sendable, Equatable {
        /// Milliseconds since 1970.
        var time: UInt64
        var status: Int
        var method: String
        /// Without the query.
        var path: String
        var reason: String
    }

    static let capacity = 64
    /// Bytes of text a record keeps: method, path and reason, each cut to fit.
    static let methodBytes = 16
    static let pathBytes = 200
    static let reasonBytes = 64
    private static let wordsPerRecord = 2 + (methodBytes + pathBytes + reasonBytes + 7) / 8
    /// Each slot: its sequence number, then its record's words.
    private static let cellsPerSlot = 1 + wordsPerRecord

    private let next = Atomic<UInt64>(0)
    private let cells: UnsafeMutablePointer<Atomic<UInt64>>

    init() {
        let count = Self.capacity * Self.cellsPerSlot
        cells = .allocate(capacity: count)
        for index in 0..<count { (cells + index).initialize(to: Atomic<UInt64>(0)) }
    }

    deinit {
        cells.deinitialize(count: Self.capacity * Self.cellsPerSlot)
        cells.deallocate()
    }

    /// Adds a record; `path` loses its query here.
    func add(time: UInt64, status: Int, method: some Collection<UInt8>, path: some Collection<UInt8>, reason: String) {
        let ticket = next.add(1, ordering: .relaxed).oldValue
        let slot = Int(ticket % UInt64(Self.capacity))
        let sequence = slot * Self.cellsPerSlot
        cells[sequence].store(ticket &* 2 &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        var bytes = [UInt8](repeating: 0, count: (Self.wordsPerRecord - 2) * 8)
        let methodCount = Self.copy(method, into: &bytes, at: 0, limit: Self.methodBytes)
        let pathCount = Self.copy(path.prefix { $0 != UInt8(ascii: "?") }, into: &bytes, at: Self.methodBytes, limit: Self.pathBytes)
        let reasonCount = Self.copy(reason.utf8, into: &bytes, at: Self.methodBytes + Self.pathBytes, limit: Self.reasonBytes)
        let base = sequence + 1
        cells[base].store(time, ordering: .relaxed)
        let lengths = UInt64(UInt16(clamping: status)) | UInt64(methodCount) << 16 | UInt64(pathCount) << 24 | UInt64(reasonCount) << 40
        cells[base + 1].store(lengths, ordering: .relaxed)
        bytes.withUnsafeBytes { raw in
            for index in 0..<(Self.wordsPerRecord - 2) {
                cells[base + 2 + index].store(raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self), ordering: .relaxed)
            }
        }
        cells[sequence].store(ticket &* 2 &+ 2, ordering: .releasing)
    }

    /// Up to `limit` records, newest first. Records being written at that moment are skipped.
    func newest(_ limit: Int) -> [Record] {
        let end = next.load(ordering: .acquiring)
        var records: [Record] = []
        var ticket = end
        while ticket > 0, records.count < limit, end - ticket < UInt64(Self.capacity) {
            ticket -= 1
            if let record = read(ticket) { records.append(record) }
        }
        return records
    }

    private func read(_ ticket: UInt64) -> Record? {
        let slot = Int(ticket % UInt64(Self.capacity))
        let expected = ticket &* 2 &+ 2
        let sequence = slot * Self.cellsPerSlot
        guard cells[sequence].load(ordering: .acquiring) == expected else { return nil }
        let base = sequence + 1
        let time = cells[base].load(ordering: .relaxed)
        let lengths = cells[base + 1].load(ordering: .relaxed)
        var bytes = [UInt8](repeating: 0, count: (Self.wordsPerRecord - 2) * 8)
        bytes.withUnsafeMutableBytes { raw in
            for index in 0..<(Self.wordsPerRecord - 2) {
                raw.storeBytes(of: cells[base + 2 + index].load(ordering: .relaxed), toByteOffset: index * 8, as: UInt64.self)
            }
        }
        atomicMemoryFence(ordering: .acquiring)
        guard cells[sequence].load(ordering: .relaxed) == expected else { return nil }
        let methodCount = Int(lengths >> 16 & 0xFF)
        let pathCount = Int(lengths >> 24 & 0xFFFF)
        let reasonCount = Int(lengths >> 40 & 0xFF)
        func text(_ start: Int, _ count: Int) -> String {
            String(decoding: bytes[start..<(start + count)], as: UTF8.self)
        }
        return Record(time: time, status: Int(lengths & 0xFFFF), method: text(0, methodCount),
                      path: text(Self.methodBytes, pathCount), reason: text(Self.methodBytes + Self.pathBytes, reasonCount))
    }

    private static func copy(_ source: some Collection<UInt8>, into bytes: inout [UInt8], at offset: Int, limit: Int) -> Int {
        var count = 0
        for byte in source.prefix(limit) {
            bytes[offset + count] = byte
            count += 1
        }
        return count
    }
}
