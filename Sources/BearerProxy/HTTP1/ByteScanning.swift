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
    func firstNonFieldContent(in range: Range<Int>) -> Int? {
        guard !range.isEmpty, let base = baseAddress else { return nil }
        let run = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self) + range.lowerBound, count: range.count)
        var bad: UInt8 = 0
        // Bitwise, not short-circuit: branch-free bodies are what the loop vectoriser accepts.
        for b in run { bad |= ((b < ASCII.space ? 1 : 0) & (b != ASCII.tab ? 1 : 0)) | (b == ASCII.del ? 1 : 0) }
        if bad == 0 { return nil }
        for i in range where !ASCII.isFieldContent(self[i]) { return i }
        return nil
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
