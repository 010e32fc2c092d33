/// A timeout in the loop's clock unit, converted from a `Duration` once. A session sets a deadline
/// several times per request; converting a `Duration` each time (its 128-bit attoseconds divided
/// down to nanoseconds) cost ~250 instructions a call.
struct LoopTimeout: Sendable, Equatable, CustomStringConvertible {
    let duration: Duration
    /// At least 1, so a deadline is never 0 ("none").
    let nanoseconds: UInt64

    init(_ duration: Duration) {
        self.duration = duration
        let (seconds, attoseconds) = duration.components
        let nanos = UInt64(max(0, seconds)).multipliedReportingOverflow(by: 1_000_000_000)
        let total = nanos.overflow ? UInt64.max / 2 : nanos.partialValue &+ UInt64(max(0, attoseconds / 1_000_000_000))
        nanoseconds = max(min(total, UInt64.max / 2), 1)
    }

    static func seconds(_ seconds: Int) -> LoopTimeout { LoopTimeout(.seconds(seconds)) }

    var description: String { duration.description }
}
