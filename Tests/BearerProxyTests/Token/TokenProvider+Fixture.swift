import Dispatch
import Foundation
import Logging
@testable import BearerProxy
import BearerSync

/// A provider with a hand-moved clock, hand-fired timers and a scripted fetcher.
final class ProviderHarness: Sendable {
    let clock = ManualClock()
    let scheduler = ManualScheduler()
    let fetcher = ScriptedFetcher()
    let loop = EventLoop(index: 0, label: "test.token-provider")
    let provider: TokenProvider
    private let results = Locked<[Result<AccessToken, TokenError>]>([])

    init(policy: TokenProvider.Policy = .init(refreshMargin: nil, defaultLifetime: .seconds(300)), random: Double = 0,
         logger: Logger = TokenFixture.logger) {
        provider = TokenProvider(fetcher: fetcher, policy: policy, clock: clock.clock, logger: logger,
                                 random: { random }, scheduler: scheduler.scheduler)
    }

    /// Asks for a token; the answer lands in `answers` (at once, or after the loop has run).
    func ask() {
        provider.token(on: loop) { result in self.results.withLock { $0.append(result) } }
    }

    /// Every answer so far, after letting the loop deliver pending ones.
    var answers: [Result<AccessToken, TokenError>] {
        loop.queue.sync {}
        return results.withLock { $0 }
    }

    /// Forgets every answer so far, including those the loop has yet to deliver.
    func clearAnswers() {
        loop.queue.sync {}
        results.withLock { $0 = [] }
    }

    /// The token value of each successful answer, "error" for failures.
    var answerTokens: [String] {
        answers.map { result in
            switch result {
            case .success(let token): return String(decoding: token.headerValue.dropFirst(7), as: UTF8.self)
            case .failure: return "error"
            }
        }
    }

    /// Starts from a cached token "tok-1" valid for `lifetime`.
    func warm(_ token: String = "tok-1", lifetime: Int = 300) {
        ask()
        fetcher.answer(.success(TokenFixture.grant(token, expiresIn: lifetime)))
        _ = answers
        clearAnswers()
    }
}
