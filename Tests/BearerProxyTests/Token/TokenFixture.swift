import BearerTLS
import Dispatch
import Foundation
import Logging
import Synchronization
@testable import BearerProxy
import BearerSync

enum TokenFixture {
    static let rsaKey = try! JWSSigningKey.generate(.rsa)
    static let ecKey = try! JWSSigningKey.generate(.ecP256)
    static let logger = Logger(label: "test.token", factory: { _ in SwiftLogNoOpLogHandler() })

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "token-tests-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func grant(_ token: String = "tok-1", expiresIn seconds: Int? = 300) -> TokenGrant {
        TokenGrant(accessToken: token, expiresIn: seconds.map { .seconds($0) }, scope: nil)
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    let nanos = Atomic<UInt64>(1_000_000_000)
    let wall = Locked<Double>(1_700_000_000)

    var clock: TokenClock {
        TokenClock(uptimeNanoseconds: { self.nanos.load(ordering: .relaxed) },
                   secondsSince1970: { self.wall.withLock { $0 } })
    }

    func advance(_ duration: Duration) {
        let step = TokenProvider.nanoseconds(duration)
        nanos.add(step, ordering: .relaxed)
        wall.withLock { $0 += Double(step) / 1e9 }
    }

    var now: UInt64 { nanos.load(ordering: .relaxed) }
}

/// Records what the provider schedules; the test fires the timers itself.
final class ManualScheduler: Sendable {
    let pending = Locked<[(delay: UInt64, work: @Sendable () -> Void)]>([])

    var scheduler: TokenScheduler {
        TokenScheduler { delay, work in self.pending.withLock { $0.append((delay, work)) } }
    }

    var delays: [UInt64] { pending.withLock { $0.map(\.delay) } }

    /// Runs and forgets everything scheduled so far.
    func fireAll() {
        let work = pending.withLock { pending in
            defer { pending = [] }
            return pending.map(\.work)
        }
        work.forEach { $0() }
    }
}

/// A fetcher whose answers the test gives one by one.
final class ScriptedFetcher: TokenFetching {
    private let waiting = Locked<[@Sendable (Result<TokenGrant, TokenError>) -> Void]>([])
    let calls = Atomic<Int>(0)

    func fetch(_ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void) {
        calls.add(1, ordering: .relaxed)
        waiting.withLock { $0.append(completion) }
    }

    var callCount: Int { calls.load(ordering: .relaxed) }
    var inFlight: Int { waiting.withLock { $0.count } }

    /// Answers the oldest outstanding fetch.
    func answer(_ result: Result<TokenGrant, TokenError>) {
        let completion = waiting.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        completion?(result)
    }
}
