#if canImport(Glibc)
import CMalloc
import Glibc
#endif

/// Gives the heap's free pages back to the kernel after a burst. glibc keeps what is freed in its
/// arenas, and a burst leaves it scattered between live blocks, where `free` cannot return it:
/// after 1,000 clients connected at once (1,000 upstream TLS handshakes, their buffers freed
/// again), about 17 MiB stayed resident though free. At each tick the trimmer reads how many
/// bytes the heap holds free; when that grew by `threshold` since the last trim (or since the
/// lowest reading after it), it calls `malloc_trim(0)`, which releases the free pages of every
/// arena. Under steady load the free bytes do not grow, so nothing is trimmed and no page is
/// given back only to be faulted in again. It runs from the loops' heartbeat, once a second.
/// @unchecked Sendable: `rule` is touched only on the heartbeat's serial queue (`tick`).
final class HeapTrimmer: @unchecked Sendable {
    static let threshold = 4 << 20

    /// When to trim, given the free bytes read at each tick.
    struct Rule {
        let threshold: Int
        /// The free bytes right after the last trim, or the fewest read since.
        private(set) var baseline: Int

        init(threshold: Int, free: Int) {
            self.threshold = threshold
            baseline = free
        }

        /// True when `free` is `threshold` or more above the baseline; the caller then trims.
        mutating func shouldTrim(free: Int) -> Bool {
            if free - baseline >= threshold {
                baseline = free  // trimming leaves the bytes free; only their pages go back
                return true
            }
            baseline = min(baseline, free)
            return false
        }
    }

    /// Touched only on the heartbeat's queue.
    private var rule: Rule

    /// nil where the C library has no `malloc_trim` (only glibc does).
    init?() {
        #if canImport(Glibc)
        rule = Rule(threshold: Self.threshold, free: Self.freeBytes())
        #else
        return nil
        #endif
    }

    /// Called by `LoopHeartbeat` once a second, on its queue: no timer or queue of its own.
    func tick() {
        #if canImport(Glibc)
        if rule.shouldTrim(free: Self.freeBytes()) { _ = malloc_trim(0) }
        #endif
    }

    #if canImport(Glibc)
    /// Bytes in free chunks of every arena (`mallinfo2().fordblks`).
    static func freeBytes() -> Int {
        Int(mallinfo2().fordblks)
    }
    #endif
}
