#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Bulk scans for the long runs of a head (request-targets, field values). They find the
/// delimiter with libc's vectorised `memchr`, then check the run with a loop that has no early
/// exit so the compiler can vectorise it; only when that finds a bad byte do we walk byte by
/// byte to report the first one, which keeps "fail at the first invalid byte" exact.
extension UnsafeRawBufferPointer {
    /// Index of the first `byte` in `range`, or nil.
    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        guard !range.isEmpty, let base = baseAddress else { return nil }
        guard let hit = memchr(base + range.lowerBound, Int32(byte), range.count) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// Index of the first byte in `range` that is not field content (RFC 9110 §5.5), or nil.
    /// Field values are mostly short (10 to 40 bytes), too short for the loop vectoriser's wide
    /// steps, so they are checked eight bytes at a time in a general register: a word with no
    /// byte below 0x20 and none equal to 0x7F (DEL) is all field content. A word that may hold
    /// one (a tab, or a real control) is checked byte by byte.
    func firstNonFieldContent(in range: Range<Int>) -> Int? {
        guard !range.isEmpty, let base = baseAddress else { return nil }
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if Self.mayHoldControl(word) {
                for j in i..<(i + 8) where !ASCII.isFieldContent(self[j]) { return j }
            }
            i += 8
        }
        while i < range.upperBound {
            if !ASCII.isFieldContent(self[i]) { return i }
            i += 1
        }
        return nil
    }

    /// True when some byte of `word` is below 0x20 or equal to 0x7F; may be true for a word
    /// with neither only where the first such byte precedes it (the usual SWAR borrow), and that
    /// word is then checked byte by byte anyway.
    @inline(__always)
    private static func mayHoldControl(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let belowSpace = (word &- 0x20 &* ones) & ~word & highs
        let del = word ^ (0x7F &* ones)
        let isDel = (del &- ones) & ~del & highs
        return belowSpace | isDel != 0
    }

    /// Index of the first byte in `range` that cannot appear in a request-target (RFC 9112 §3.2), or nil.
    /// "#" counts as one: a fragment is never sent in a request (RFC 9110 §7.1).
    func firstNonTargetByte(in range: Range<Int>) -> Int? {
        guard !range.isEmpty, let base = baseAddress else { return nil }
        let run = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self) + range.lowerBound, count: range.count)
        var bad: UInt8 = 0
        for b in run { bad |= (b <= ASCII.space ? 1 : 0) | (b >= ASCII.del ? 1 : 0) | (b == 0x23 /* # */ ? 1 : 0) }
        if bad == 0 { return nil }
        for i in range where !ASCII.isTargetByte(self[i]) || self[i] == 0x23 { return i }
        return nil
    }
}
