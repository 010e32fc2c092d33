@testable import BearerProxy
import Foundation
import Testing

extension Integration {
    /// The proxy and the token endpoint: one fetch for many callers, prompt failure when down.
    @Suite("Tokens: single flight and failure")
    struct Tokens {
        @Test("twenty concurrent first requests wait for one token request (the prefetch at start)")
        func concurrentFirstRequestsShareOneFetch() async throws {
            var options = ProxyHarness.Options()
            options.tokenDelayMilliseconds = 300
            let harness = try ProxyHarness(options)
            defer { harness.stop() }

            // All requests are written before any is read, so all twenty are in flight while the
            // token endpoint is still sleeping on the prefetch.
            let clients = try (0..<20).map { _ in try harness.client() }
            for (index, client) in clients.enumerated() {
                try client.send(harness.get("/concurrent/\(index)"))
            }
            let responses = try clients.map { try $0.readResponse() }

            #expect(responses.map(\.status) == Array(repeating: 200, count: 20))
            #expect(harness.tokenEndpoint.requestCount == 1)
            #expect(harness.proxy.tokenStatus.fetches == 1)
            let issued = try #require(harness.tokenEndpoint.issuedTokens.first)
            let authorizations = Set(harness.upstream.requests.flatMap { $0.fieldLines(named: "authorization") })
            #expect(authorizations == ["Authorization: Bearer \(issued)"])
            #expect(harness.upstream.requests.count == 20)
        }

        @Test("with nothing listening at the token endpoint, a request gets 503 token_unavailable promptly with Retry-After")
        func tokenEndpointDown() async throws {
            var options = ProxyHarness.Options()
            options.tokenEndpointDown = true
            let harness = try ProxyHarness(options)
            defer { harness.stop() }

            let started = ContinuousClock.now
            let client = try harness.client()
            let response = try client.exchange(harness.get("/needs-token"))
            let elapsed = ContinuousClock.now - started

            #expect(response.status == 503)
            #expect(response.jsonString("error") == "token_unavailable")
            let retryAfter = try #require(response.value(of: "retry-after").flatMap(Int.init))
            #expect(retryAfter >= 1)
            #expect(elapsed < .seconds(2))
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }

        @Test("when the token endpoint answers 401 invalid_client, a request gets 503 token_unavailable naming it")
        func tokenEndpointRejectsClient() async throws {
            var options = ProxyHarness.Options()
            options.tokenBehaviour = .rejectClient
            let harness = try ProxyHarness(options)
            defer { harness.stop() }

            let started = ContinuousClock.now
            let client = try harness.client()
            let response = try client.exchange(harness.get("/needs-token"))
            let elapsed = ContinuousClock.now - started

            #expect(response.status == 503)
            #expect(response.jsonString("error") == "token_unavailable")
            #expect(response.jsonString("detail")?.contains("invalid_client") == true)
            #expect(response.value(of: "retry-after").flatMap(Int.init) != nil)
            #expect(elapsed < .seconds(2))
            #expect(harness.upstream.requests.map(\.requestLine) == [])
            #expect(harness.tokenEndpoint.requestCount >= 1)
        }

        @Test("a token endpoint slower than token.timeout gives 503 token_unavailable once the timeout passes")
        func tokenEndpointTooSlow() async throws {
            var options = ProxyHarness.Options()
            options.tokenTimeout = "300ms"
            options.tokenDelayMilliseconds = 1500
            let harness = try ProxyHarness(options)
            defer { harness.stop() }

            let started = ContinuousClock.now
            let response = try harness.client().exchange(harness.get("/needs-token"))
            let elapsed = ContinuousClock.now - started

            #expect(response.status == 503)
            #expect(response.jsonString("error") == "token_unavailable")
            #expect(response.value(of: "retry-after") != nil)
            #expect(elapsed < .milliseconds(1200))
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }

        @Test("the token request authenticates with HTTP Basic and asks for client_credentials (RFC 6749 §4.4.2)")
        func tokenRequestShape() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let request = try #require(harness.tokenEndpoint.requests.first)
            #expect(request.method == "POST")
            #expect(request.target == "/oauth2/token")
            let basic = "Basic " + Data("\(ProxyHarness.clientID):\(ProxyHarness.clientSecret)".utf8).base64EncodedString()
            #expect(request.values(of: "authorization") == [basic])
            #expect(request.values(of: "content-type").first?.hasPrefix("application/x-www-form-urlencoded") == true)
            #expect(request.bodyText.contains("grant_type=client_credentials"))
            #expect(!request.bodyText.contains(ProxyHarness.clientSecret))
        }
    }

    @Suite("Tokens: refresh")
    struct TokenRefresh {
        @Test("after the token's lifetime the proxy forwards with a newly fetched token")
        func expiredTokenIsReplaced() async throws {
            var options = ProxyHarness.Options()
            options.tokenBehaviour = .issue(expiresIn: 1)
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            let client = try harness.client()
            #expect(try client.exchange(harness.get("/before")).status == 200)
            let first = try #require(harness.tokenEndpoint.issuedTokens.first)

            // Refresh is due at 90% of the 1 s lifetime; the provider fetches on its own timer.
            // The endpoint records a token before the proxy has read the answer, so keep asking
            // until a request carries it (bounded by the old token's expiry plus the poll).
            try await poll("a second token", timeout: .seconds(3)) { harness.tokenEndpoint.issuedTokens.count >= 2 }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(3)
            repeat {
                #expect(try client.exchange(harness.get("/after")).status == 200)
                let last = harness.upstream.requests.last?.fieldLines(named: "authorization").first
                if last != "Authorization: Bearer \(first)" { break }
                try await Task.sleep(for: .milliseconds(20))
            } while clock.now < deadline

            let lines = harness.upstream.requests.map { $0.fieldLines(named: "authorization") }
            #expect(lines.first == ["Authorization: Bearer \(first)"])
            let later = try #require(lines.last?.first)
            #expect(later != "Authorization: Bearer \(first)")
            #expect(harness.tokenEndpoint.issuedTokens.dropFirst().contains { later == "Authorization: Bearer \($0)" })
        }
    }

    /// Nothing secret reaches the log, whatever happens.
    @Suite("Logging: secrets stay out of the log")
    struct Logging {
        @Test("no log record at trace level contains the client secret, its Basic encoding, or an issued token")
        func logsNeverContainSecrets() async throws {
            let buffer = CapturingLogHandler.Buffer()
            var good = ProxyHarness.Options()
            good.logger = CapturingLogHandler.logger(into: buffer)
            let working = try ProxyHarness(good)
            defer { working.stop() }
            try await working.waitForToken()
            let client = try working.client()
            _ = try client.exchange(working.get("/logged?q=1", extraFields: "Authorization: Basic Y2xpZW50OnB3\r\n"))
            _ = try client.exchange("GET /bad HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")

            var rejected = good
            rejected.tokenBehaviour = .rejectClient
            let failing = try ProxyHarness(rejected)
            defer { failing.stop() }
            _ = try failing.client().exchange(failing.get("/no-token"))
            try await poll("the failed fetch to be logged") { buffer.text.contains("token fetch failed") }

            var untrusted = good
            untrusted.upstreamCertificate = .otherCA
            let impostor = try ProxyHarness(untrusted)
            defer { impostor.stop() }
            try await impostor.waitForToken()
            _ = try impostor.client().exchange(impostor.get("/impostor"))

            let log = buffer.text
            #expect(buffer.count > 5)
            #expect(log.contains("token fetched"))
            #expect(log.contains("upstream connection failed"))
            #expect(!log.contains(ProxyHarness.clientSecret))
            #expect(!log.contains(Data("\(ProxyHarness.clientID):\(ProxyHarness.clientSecret)".utf8).base64EncodedString()))
            let tokens = working.tokenEndpoint.issuedTokens + impostor.tokenEndpoint.issuedTokens
            #expect(tokens.count >= 2)
            for token in tokens {
                #expect(!log.contains(token))
                // Not even the distinctive tail (a log line could truncate or split the token).
                #expect(!log.contains(String(token.split(separator: ".").last!)))
            }
        }
    }
}
