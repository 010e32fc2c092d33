@testable import BearerProxy
import Testing

extension Integration {
    /// When the upstream cannot be trusted or does not answer in time.
    @Suite("Upstream failures: verification and timeouts")
    struct UpstreamFailures {
        @Test("an upstream certificate from an unknown CA gives 502 upstream_unavailable naming the verification failure")
        func untrustedCertificate() async throws {
            var options = ProxyHarness.Options()
            options.upstreamCertificate = .otherCA
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            let response = try harness.client().exchange(harness.get("/untrusted"))

            #expect(response.status == 502)
            #expect(response.jsonString("error") == "upstream_unavailable")
            let detail = response.jsonString("detail") ?? ""
            #expect(detail.contains("certificate verify failed"), "detail: \(detail)")
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }

        @Test("an upstream certificate for another host name gives 502 upstream_unavailable")
        func hostNameMismatch() async throws {
            var options = ProxyHarness.Options()
            options.upstreamCertificate = .wrongName
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            let response = try harness.client().exchange(harness.get("/mismatch"))

            #expect(response.status == 502)
            #expect(response.jsonString("error") == "upstream_unavailable")
            let detail = response.jsonString("detail") ?? ""
            #expect(detail.contains("certificate verify failed"), "detail: \(detail)")
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }

        @Test("an upstream slower than upstream.response_timeout gives 504 upstream_timeout")
        func slowUpstream() async throws {
            var options = ProxyHarness.Options()
            options.upstreamResponseTimeout = "500ms"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.delayAnswers(milliseconds: 1500)

            let started = ContinuousClock.now
            let response = try harness.client().exchange(harness.get("/slow"))
            let elapsed = ContinuousClock.now - started

            #expect(response.status == 504)
            #expect(response.jsonString("error") == "upstream_timeout")
            #expect(elapsed >= .milliseconds(450))
            #expect(elapsed < .milliseconds(1400))
        }
    }
}
