@testable import BearerProxy
import Foundation
import Testing

extension Integration {
    /// The admin listener's `/` in headless Chromium against the real proxy, in three states.
    /// Screenshots go to `.build/test-output/status-page/` (or `$BEARER_PROXY_TEST_OUTPUT`).
    @Suite("Status page in a real browser")
    struct StatusPageInBrowser {
        static func screenshot(_ name: String) -> String {
            HeadlessChromium.outputDirectory + "/status-page/\(name).png"
        }

        /// Text that must never be on the page, whatever the state.
        static func expectNothingSecret(_ dom: String, harness: ProxyHarness, extra: [String] = []) {
            #expect(!dom.contains(ProxyHarness.clientSecret), "the client secret is on the page")
            for token in harness.tokenEndpoint.issuedTokens {
                #expect(!dom.contains(token), "a token is on the page")
                #expect(!dom.contains(String(token.split(separator: ".")[2])), "a token's tail is on the page")
            }
            for text in extra { #expect(!dom.contains(text), "\(text) is on the page") }
        }

        @Test("healthy: the profile is valid with its jti and scope, the route has its figures, failed requests are listed without query or Authorization")
        func healthy() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let client = try harness.client()
            for index in 0..<5 { #expect(try client.exchange(harness.get("/ok/\(index)")).status == 200) }
            // A failed request carrying a secret in its query and a client Authorization of its own.
            let refused = try harness.client().exchange(
                "TRACE /private/path?access_token=query-secret-7f1 HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\n"
                + "Authorization: Bearer client-own-credential-9c2\r\n\r\n")
            #expect(refused.status == 405)
            let dom = try HeadlessChromium.load("http://127.0.0.1:\(harness.adminPort)/", screenshot: Self.screenshot("healthy"))
            let token = try #require(harness.tokenEndpoint.issuedTokens.first)
            let jwtID = try #require(JWTInspection(token)?.claims["jti"]?.string)
            for text in ["bearer-proxy", "Tokens", "valid", "expires in", "refresh in", jwtID, "token requests", "Routes",
                         "https://localhost:\(harness.upstream.port)", "Recent failed requests", "TRACE", "/private/path", "405",
                         "method_not_allowed", "Configuration", "generation", "OpenSSL", "uptime"] {
                #expect(dom.contains(text), "the page lacks \(text)")
            }
            Self.expectNothingSecret(dom, harness: harness, extra: ["query-secret-7f1", "access_token=", "client-own-credential-9c2"])
            // The same page as a phone shows it (390 px wide), for a look at the screenshot.
            let phone = try HeadlessChromium.load("http://127.0.0.1:\(harness.adminPort)/", screenshot: Self.screenshot("healthy-phone"),
                                                  width: 390, height: 1400)
            #expect(phone.contains(jwtID))
            // The route's upstream figures the page shows: one connection, open and idle after the keep-alive requests.
            let metrics = try harness.admin("/metrics").bodyText
            #expect(metrics.contains(#"bearer_proxy_route_upstream_open_connections{route="0"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"bearer_proxy_route_upstream_idle_connections{route="0"} 1"#))
            #expect(metrics.contains(#"bearer_proxy_route_upstream_connections_created_total{route="0"} 1"#))
        }

        @Test("token endpoint down: the profile is failing and the page says why")
        func tokenEndpointDown() async throws {
            var options = ProxyHarness.Options()
            options.tokenEndpointDown = true
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await poll("the first token request to fail") { harness.proxy.tokenStatus.lastFailure != nil }
            let dom = try HeadlessChromium.load("http://127.0.0.1:\(harness.adminPort)/", screenshot: Self.screenshot("token-endpoint-down"))
            #expect(dom.contains("failing"))
            #expect(dom.contains("last error"))
            #expect(dom.contains("unreachable") || dom.contains("refused"), "the reason is shown")
            #expect(dom.contains("next attempt"), "the backoff is shown")
            #expect(dom.contains("none yet") || dom.contains("failed"), "the last fetch is shown as failed")
            Self.expectNothingSecret(dom, harness: harness)
        }

        @Test("after a rejected reload: the page names it with its reason, and the running generation")
        func rejectedReload() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let broken = harness.directory + "/broken.conf"
            try "upstream:\n  url: ftp://nowhere\n".write(toFile: broken, atomically: true, encoding: .utf8)
            #expect(!harness.proxy.reload(path: broken, environment: [:]))
            let dom = try HeadlessChromium.load("http://127.0.0.1:\(harness.adminPort)/", screenshot: Self.screenshot("rejected-reload"))
            #expect(dom.contains("last rejected reload"))
            #expect(dom.contains("scheme must be https"), "the reason is shown")
            #expect(dom.contains("generation 1"))
            Self.expectNothingSecret(dom, harness: harness)
        }
    }
}
