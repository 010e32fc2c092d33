import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Time as the token cache sees it; injected so tests need no sleeps.
struct TokenClock: Sendable {
    /// Monotonic nanoseconds, for expiry and refresh times.
    var uptimeNanoseconds: @Sendable () -> UInt64
    /// Seconds since 1970, only to read JWT `exp`/`iat` claims and compare with a `Date` header.
    var secondsSince1970: @Sendable () -> Double

    static let system = TokenClock(
        uptimeNanoseconds: { DispatchTime.now().uptimeNanoseconds },
        secondsSince1970: { Date().timeIntervalSince1970 }
    )
}

/// Runs the provider's timer callbacks; injected so tests can see each delay and fire it themselves.
struct TokenScheduler: Sendable {
    /// Calls `work` after `delayNanoseconds`.
    var schedule: @Sendable (_ delayNanoseconds: UInt64, _ work: @escaping @Sendable () -> Void) -> Void

    static func dispatch(on queue: DispatchQueue) -> TokenScheduler {
        TokenScheduler { delay, work in
            queue.asyncAfter(deadline: .now() + .nanoseconds(Int(min(delay, UInt64(Int.max)))), execute: work)
        }
    }
}
