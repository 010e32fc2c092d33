#if canImport(Glibc)
import Glibc
#endif

/// The wall clock, for times shown to people (the status page). Durations and deadlines use the
/// monotonic clock instead.
enum WallClock {
    /// Milliseconds since 1970.
    static func milliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(max(0, now.tv_sec)) * 1000 + UInt64(max(0, now.tv_nsec)) / 1_000_000
    }

    static func seconds() -> Double {
        Double(milliseconds()) / 1000
    }
}
