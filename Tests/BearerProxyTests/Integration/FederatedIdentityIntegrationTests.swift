@testable import BearerProxy
import Foundation
import Logging
import Testing

extension Integration {
    /// `auth_method: federated_jwt`: the real proxy with an assertion file as the kubelet keeps
    /// one, against a token endpoint that checks it as a federated credential.
    @Suite("Tokens: federated client assertion (workload identity)")
    struct FederatedIdentity {
        static func harness(expiresIn: Int, log: CapturingLogHandler.Buffer? = nil) throws -> ProxyHarness {
            var options = ProxyHarness.Options()
            options.authentication = .federated(expiresIn: expiresIn)
            options.tokenMinRequestInterval = "0s"
            if let log { options.logger = CapturingLogHandler.logger(into: log) }
            return try ProxyHarness(options)
        }

        /// The `client_assertion` of each token request the endpoint received, in order.
        static func sentAssertions(_ harness: ProxyHarness) -> [String] {
            harness.tokenEndpoint.requests.compactMap { TestTokenEndpoint.form($0.body)["client_assertion"]?.first }
        }

        @Test("the token endpoint verifies the projected token's signature, issuer, subject and audience, and the upstream gets the token")
        func accepted() async throws {
            let log = CapturingLogHandler.Buffer()
            let harness = try Self.harness(expiresIn: 3600, log: log)
            defer { harness.stop() }
            try await harness.waitForToken()
            let response = try harness.client().exchange(harness.get("/auth"))
            #expect(response.status == 200)
            #expect(harness.tokenEndpoint.rejections == [])
            let issued = try #require(harness.tokenEndpoint.issuedTokens.first)
            #expect(harness.upstream.requests.first?.fieldLines(named: "authorization") == ["Authorization: Bearer \(issued)"])
            let assertion = try #require(Self.sentAssertions(harness).first)
            #expect(!log.text.contains(String(assertion.split(separator: ".")[2])), "no log line carries the assertion")
        }

        @Test("an expired assertion is never sent: 503 with Retry-After and not ready; a replaced file brings a token without waiting for the backoff")
        func expiredThenReplaced() async throws {
            let log = CapturingLogHandler.Buffer()
            let harness = try Self.harness(expiresIn: -60, log: log)
            defer { harness.stop() }
            let response = try harness.client().exchange(harness.get("/auth"))
            #expect(response.status == 503)
            #expect(response.jsonString("error") == "token_unavailable")
            #expect(response.jsonString("detail")?.contains("expired at") == true)
            #expect(response.value(of: "retry-after").flatMap(Int.init) != nil)
            #expect(try harness.admin("/readyz").status == 503)
            #expect(harness.tokenEndpoint.requestCount == 0, "the expired assertion went nowhere")
            #expect(log.text.contains("waiting for the file to be replaced"))

            // The configuration backoff after that failure is 30 s or more; the new file is used
            // as soon as the watcher sees it.
            WorkloadIssuer.write(WorkloadIssuer.mint(expiresIn: 3600, id: "replacement"), to: harness.assertionPath)
            try await poll("a token after the assertion was replaced", timeout: .seconds(15)) { harness.proxy.tokenStatus.hasValidToken }
            #expect(try harness.client().exchange(harness.get("/auth")).status == 200)
            #expect(try harness.admin("/readyz").status == 200)
            #expect(Self.sentAssertions(harness).compactMap { JWTInspection($0)?.claims["jti"]?.string } == ["replacement"])
        }

        @Test("a rotated assertion is read again: the next token request carries the new one")
        func rotated() async throws {
            let harness = try Self.harness(expiresIn: 3600)
            defer { harness.stop() }
            try await harness.waitForToken()
            #expect(harness.tokenEndpoint.requestCount == 1)
            WorkloadIssuer.write(WorkloadIssuer.mint(expiresIn: 3600, id: "rotated"), to: harness.assertionPath)
            try await poll("a token request with the rotated assertion", timeout: .seconds(15)) { harness.tokenEndpoint.requestCount >= 2 }
            #expect(JWTInspection(Self.sentAssertions(harness)[1])?.claims["jti"]?.string == "rotated")
            #expect(harness.tokenEndpoint.rejections == [])
        }
    }
}
