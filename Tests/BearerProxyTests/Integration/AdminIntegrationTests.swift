@testable import BearerProxy
import BearerTLS
import Foundation
import Logging
import Testing

extension Integration {
    @Suite("Admin: /healthz, /readyz, /metrics")
    struct Admin {
        @Test("/healthz answers 200 while the loops run")
        func healthzOK() throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            let response = try harness.admin("/healthz")
            #expect(response.status == 200)
            #expect(response.jsonString("status") == "ok")
        }

        @Test("/readyz is 200 with the token lifetime and config generation once a token is cached")
        func readyWithToken() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let response = try harness.admin("/readyz")
            #expect(response.status == 200)
            #expect(response.jsonString("status") == "ready")
            #expect(response.bodyText.contains("\"config_generation\":1"))
            #expect(response.bodyText.contains("\"token_expires_in\":"))
        }

        @Test("/readyz is 503 and says why while the token endpoint is down")
        func notReadyWithoutToken() async throws {
            var options = ProxyHarness.Options()
            options.tokenEndpointDown = true
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await poll("the first fetch to fail") { harness.proxy.tokenStatus.lastFailure != nil }
            let response = try harness.admin("/readyz")
            #expect(response.status == 503)
            #expect(response.jsonString("status") == "not_ready")
            let reason = response.jsonString("reason") ?? ""
            #expect(reason.hasPrefix("no valid token") && reason.contains("token endpoint unreachable"), "reason: \(reason)")
            #expect(try harness.admin("/healthz").status == 200)
        }

        @Test("/metrics is Prometheus text, and each metric moves when traffic does")
        func metricsMove() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let before = try harness.admin("/metrics")
            #expect(before.status == 200)
            #expect(before.value(of: "content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(before.bodyText.contains(#"bearer_proxy_token_valid{profile="default"} 1"#))
            #expect(before.bodyText.contains(#"bearer_proxy_token_fetches_total{profile="default",outcome="success"} 1"#))

            let client = try harness.client()
            let first = try client.exchange(harness.get("/one"))
            let second = try client.exchange("POST /two HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\nContent-Length: 5\r\n\r\nhello")
            #expect(first.status == 200 && second.status == 200)
            harness.upstream.respond { _ in .response(.text(404, "nope")) }
            #expect(try client.exchange(harness.get("/missing")).status == 404)

            let text = try harness.admin("/metrics").bodyText
            #expect(text.contains(#"bearer_proxy_requests_total{route="0",method="GET",status_class="2xx"} 1"#))
            #expect(text.contains(#"bearer_proxy_requests_total{route="0",method="POST",status_class="2xx"} 1"#))
            #expect(text.contains(#"bearer_proxy_requests_total{route="0",method="GET",status_class="4xx"} 1"#))
            #expect(text.contains(#"bearer_proxy_request_duration_seconds_count{route="0"} 3"#))
            #expect(text.contains(#"bearer_proxy_upstream_duration_seconds_count{route="0"} 3"#))
            #expect(text.contains(#"bearer_proxy_request_body_bytes_total{route="0"} 5"#))
            #expect(metricValue(text, #"bearer_proxy_response_body_bytes_total{route="0"}"#) ?? 0 > 0)
            #expect(text.contains("bearer_proxy_client_connections_open 1"))
            #expect(text.contains("bearer_proxy_upstream_connections_created_total 1"))
            #expect(text.contains("bearer_proxy_upstream_connections_reused_total 2"))
            #expect(text.contains("bearer_proxy_upstream_pool_idle_connections 1"))
            #expect(text.contains(#"bearer_proxy_tls_handshakes_total{peer="upstream",outcome="success"} 1"#))
            #expect(text.contains(#"bearer_proxy_tls_handshakes_total{peer="token",outcome="success"} 1"#))
            #expect(metricValue(text, #"bearer_proxy_token_seconds_until_expiry{profile="default"}"#) ?? 0 > 200)
            #expect(text.contains("bearer_proxy_config_generation 1"))

            client.shutdownWrite()
            #expect(client.waitForClose())
            try await poll("the closed connection to leave the gauge") {
                (try? harness.admin("/metrics").bodyText.contains("bearer_proxy_client_connections_open 0")) == true
            }
        }

        @Test("a failed upstream handshake is counted by reason")
        func handshakeFailureCounted() async throws {
            var options = ProxyHarness.Options()
            options.upstreamCertificate = .otherCA
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            #expect(try harness.client().exchange(harness.get("/x")).status == 502)
            let text = try harness.admin("/metrics").bodyText
            #expect(text.contains(#"bearer_proxy_tls_handshake_failures_total{peer="upstream",reason="verification_failed"} 1"#))
            #expect(text.contains(#"bearer_proxy_requests_total{route="0",method="GET",status_class="5xx"} 1"#))
        }

        @Test("a token endpoint with an untrusted certificate is counted as a token-peer handshake failure")
        func tokenHandshakeFailureCounted() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            // A second proxy whose token endpoint is verified against a CA that did not issue its certificate.
            let stranger = try CertificateAuthority.generate(commonName: "not the token endpoint's CA")
            let strangerPath = harness.directory + "/stranger.pem"
            try Data(stranger.certificatePEM.utf8).write(to: URL(fileURLWithPath: strangerPath))
            let yaml = """
                listen: 127.0.0.1:0
                upstream:
                  url: https://localhost:\(harness.upstream.port)
                  ca_file: \(harness.directory)/ca.pem
                token:
                  url: https://localhost:\(harness.tokenEndpoint.port)/oauth2/token
                  client_id: \(ProxyHarness.clientID)
                  client_secret: \(ProxyHarness.clientSecret)
                  ca_file: \(strangerPath)
                admin:
                  listen: 127.0.0.1:0

                """
            let config = try ProxyConfig.parse(yaml: yaml, sourceName: "itest.conf", baseDirectory: harness.directory, environment: [:])
            let proxy = try ProxyServer(config: config, logger: .init(label: "itest", factory: { _ in SwiftLogNoOpLogHandler() }))
            defer { proxy.shutdown(drainTimeout: .zero) {} }

            #expect(try RawHTTPClient(port: proxy.listenAddress.port).exchange(
                "GET /x HTTP/1.1\r\nHost: 127.0.0.1:\(proxy.listenAddress.port)\r\n\r\n").status == 503)
            let metrics = try RawHTTPClient(port: proxy.adminAddress!.port).exchange(
                "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").bodyText
            #expect(metrics.contains(#"bearer_proxy_tls_handshake_failures_total{peer="token",reason="verification_failed"}"#))
            #expect(!metrics.contains(#"bearer_proxy_tls_handshake_failures_total{peer="token",reason="verification_failed"} 0"#))
        }

        @Test("a token fetch failure is counted")
        func tokenFailureCounted() async throws {
            var options = ProxyHarness.Options()
            options.tokenBehaviour = .rejectClient
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await poll("the first fetch to fail") { harness.proxy.tokenStatus.lastFailure != nil }
            let text = try harness.admin("/metrics").bodyText
            #expect(text.contains(#"bearer_proxy_token_fetches_total{profile="default",outcome="failure"} 1"#))
            #expect(text.contains(#"bearer_proxy_token_valid{profile="default"} 0"#))
        }

        @Test("the healthcheck probe gets 200 from /healthz, and fails on a port nobody listens on")
        func healthcheckProbe() throws {
            let harness = try ProxyHarness()
            let port = harness.adminPort
            #expect(try AdminProbe.get(HostPort(host: "127.0.0.1", port: port), path: "/healthz", timeout: .seconds(2)).get() == 200)
            harness.stop()
            if case .success(let status) = AdminProbe.get(HostPort(host: "127.0.0.1", port: port), path: "/healthz", timeout: .seconds(2)) {
                Issue.record("a stopped admin listener answered \(status)")
            }
        }
    }
}

/// The value of an unlabelled sample `name value` in Prometheus text.
func metricValue(_ text: String, _ name: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1))
    }
    return nil
}
