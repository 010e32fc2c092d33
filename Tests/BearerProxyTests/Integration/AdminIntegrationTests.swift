@testable import BearerProxy
import Testing

extension Integration {
    /// The admin listener as an orchestrator's probes see it.
    @Suite("Admin: health and readiness")
    struct Admin {
        @Test("/healthz answers 200 and /readyz answers 200 once a token is held")
        func healthyAndReady() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let health = try harness.adminClient().exchange("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let ready = try harness.adminClient().exchange("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

            #expect(health.status == 200)
            #expect(health.jsonString("status") == "ok")
            #expect(ready.status == 200)
            #expect(ready.jsonString("status") == "ready")
        }

        @Test("/readyz answers 503 with the reason while the token endpoint is down; /healthz still 200")
        func notReadyWithoutToken() async throws {
            var options = ProxyHarness.Options()
            options.tokenEndpointDown = true
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await poll("the prefetch to fail") { harness.proxy.tokenStatus.lastFailure != nil }

            let ready = try harness.adminClient().exchange("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let health = try harness.adminClient().exchange("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

            #expect(ready.status == 503)
            #expect(ready.jsonString("status") == "not_ready")
            let reason = ready.jsonString("reason") ?? ""
            #expect(reason.contains("token endpoint unreachable"), "reason: \(reason)")
            #expect(health.status == 200)
        }
    }
}
