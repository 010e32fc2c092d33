@testable import BearerProxy
import BearerTLS
import Foundation
import Logging
import Testing

/// Two APIs behind one proxy, each with its own token endpoint, client and upstream: `payments`
/// by path prefix (stripped), `crm` by host; all on loopback.
final class RoutesHarness: Sendable {
    let directory: String
    let caPath: String
    let payments: TestUpstream
    let crm: TestUpstream
    let paymentsTokens: TestTokenEndpoint
    let crmTokens: TestTokenEndpoint
    let proxy: ProxyServer

    var proxyPort: UInt16 { proxy.listenAddress.port }

    init() throws {
        var template = Array("/tmp/bearer-proxy-routes.XXXXXX".utf8CString)
        directory = String(cString: mkdtemp(&template)!)
        let ca = try CertificateAuthority.generate(commonName: "bearer-proxy routes CA")
        let leaf = try ca.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        let tls = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
        caPath = directory + "/ca.pem"
        try Data(ca.certificatePEM.utf8).write(to: URL(fileURLWithPath: caPath))
        payments = try TestUpstream(tlsContext: tls)
        crm = try TestUpstream(tlsContext: tls)
        paymentsTokens = try TestTokenEndpoint(tlsContext: tls, clientID: "payments-client", clientSecret: "payments-S3CRET-1")
        crmTokens = try TestTokenEndpoint(tlsContext: tls, clientID: "crm-client", clientSecret: "crm-S3CRET-2")
        let yaml = Self.yaml(crmScope: "crm.read", caPath: caPath, payments: payments.port, crm: crm.port,
                             paymentsTokens: paymentsTokens.port, crmTokens: crmTokens.port)
        let config = try ProxyConfig.parse(yaml: yaml, sourceName: "routes.conf", baseDirectory: directory, environment: [:])
        proxy = try ProxyServer(config: config, logger: Logger(label: "itest.routes", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func yaml(crmScope: String) -> String {
        Self.yaml(crmScope: crmScope, caPath: caPath, payments: payments.port, crm: crm.port,
                  paymentsTokens: paymentsTokens.port, crmTokens: crmTokens.port)
    }

    static func yaml(crmScope: String, caPath: String, payments: UInt16, crm: UInt16, paymentsTokens: UInt16, crmTokens: UInt16) -> String {
        """
        listen: 127.0.0.1:0
        workers: 2
        tokens:
          payments:
            url: https://localhost:\(paymentsTokens)/oauth2/token
            client_id: payments-client
            client_secret: payments-S3CRET-1
            scopes: [payments.read]
            ca_file: \(caPath)
          crm:
            url: https://localhost:\(crmTokens)/oauth2/token
            client_id: crm-client
            client_secret: crm-S3CRET-2
            scopes: [\(crmScope)]
            ca_file: \(caPath)
        routes:
          - name: payments
            match: {path_prefix: /payments/}
            url: https://localhost:\(payments)/v2
            ca_file: \(caPath)
            token: payments
            strip_prefix: true
          - name: crm
            match: {host: crm.example.com}
            url: https://localhost:\(crm)
            ca_file: \(caPath)
            token: crm
          - name: files
            match: {path_prefix: /files}
            url: https://localhost:\(crm)/store
            ca_file: \(caPath)
            token: crm
        admin:
          listen: 127.0.0.1:0

        """
    }

    func client() throws -> RawHTTPClient { try RawHTTPClient(port: proxyPort) }

    func send(_ request: String) throws -> RawResponse { try client().exchange(request) }

    func admin(_ path: String) throws -> RawResponse {
        try RawHTTPClient(port: proxy.adminAddress!.port).exchange("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    }

    func waitForTokens() async throws {
        try await poll("both profiles to hold a token") {
            self.proxy.tokenStatus(profile: "payments")?.hasValidToken == true && self.proxy.tokenStatus(profile: "crm")?.hasValidToken == true
        }
    }

    func stop() {
        let done = DispatchSemaphore(value: 0)
        proxy.shutdown(drainTimeout: .milliseconds(200)) { done.signal() }
        _ = done.wait(timeout: .now() + 2)
        for upstream in [payments, crm] { upstream.close() }
        for endpoint in [paymentsTokens, crmTokens] { endpoint.close() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension Integration {
    @Suite("Routes: several APIs, each with its own token")
    struct RoutesIntegrationTests {
        @Test("each route reaches its own upstream with its own profile's token; strip_prefix and base paths apply")
        func twoProfilesTwoUpstreams() async throws {
            let harness = try RoutesHarness()
            defer { harness.stop() }
            try await harness.waitForTokens()

            let client = try harness.client()  // one keep-alive connection, three APIs
            let local = "Host: 127.0.0.1:\(harness.proxyPort)\r\n"
            let paid = try client.exchange("GET /payments/invoices/7?x=1 HTTP/1.1\r\n\(local)Authorization: Bearer client-supplied\r\n\r\n")
            let contact = try client.exchange("GET /v1/contacts HTTP/1.1\r\nHost: crm.example.com\r\n\r\n")
            let file = try client.exchange("GET /files/a.txt HTTP/1.1\r\n\(local)\r\n")
            #expect(paid.status == 200 && paid.bodyText == "target=/v2/invoices/7?x=1")
            #expect(contact.status == 200 && contact.bodyText == "target=/v1/contacts")
            #expect(file.status == 200 && file.bodyText == "target=/store/files/a.txt")  // strip_prefix: false

            let paymentsToken = try #require(harness.paymentsTokens.issuedTokens.first)
            let crmToken = try #require(harness.crmTokens.issuedTokens.first)
            #expect(harness.payments.requests.map { $0.values(of: "authorization") } == [["Bearer \(paymentsToken)"]])
            #expect(harness.crm.requests.map { $0.values(of: "authorization") } == [["Bearer \(crmToken)"], ["Bearer \(crmToken)"]])
            #expect(harness.crm.requests.first?.values(of: "host") == ["localhost:\(harness.crm.port)"])
            // Each token endpoint was asked once, with its own client and scope.
            #expect(harness.paymentsTokens.requestCount == 1 && harness.crmTokens.requestCount == 1)
            #expect(TestTokenEndpoint.form(harness.crmTokens.requests[0].body)["scope"] == ["crm.read"])
        }

        @Test("a host route is reached through http_proxy (absolute form) and through the Host header, port-aware")
        func hostRoutes() async throws {
            let harness = try RoutesHarness()
            defer { harness.stop() }
            try await harness.waitForTokens()

            let viaProxy = try harness.send("GET http://crm.example.com/v1/x?q=2 HTTP/1.1\r\nHost: crm.example.com\r\nProxy-Connection: keep-alive\r\n\r\n")
            #expect(viaProxy.status == 200 && viaProxy.bodyText == "target=/v1/x?q=2")
            let explicitPort = try harness.send("GET http://CRM.example.com:80/y HTTP/1.1\r\nHost: crm.example.com:80\r\n\r\n")
            #expect(explicitPort.status == 200 && explicitPort.bodyText == "target=/y")
            let viaHost = try harness.send("GET /z HTTP/1.1\r\nHost: Crm.Example.Com\r\n\r\n")
            #expect(viaHost.status == 200 && viaHost.bodyText == "target=/z")
            #expect(harness.crm.requests.count == 3)
            #expect(!harness.crm.requests.contains { $0.values(of: "proxy-connection") != [] })

            // RFC 9112 §3.2.2: the absolute target's authority counts, not Host. A route's host is
            // accepted on the ports that route takes only, so it cannot reach a host-less route.
            let otherPort = try harness.send("GET http://crm.example.com:8443/files/x HTTP/1.1\r\nHost: crm.example.com\r\n\r\n")
            #expect(otherPort.status == 421)
            #expect(try harness.send("GET /files/x HTTP/1.1\r\nHost: crm.example.com:9999\r\n\r\n").status == 421)
            let foreign = try harness.send("GET http://evil.example/v1/x HTTP/1.1\r\nHost: crm.example.com\r\n\r\n")
            #expect(foreign.status == 421)
            #expect(harness.crm.requests.count == 3 && harness.payments.requests.isEmpty)
        }

        @Test("a request no route takes gets 404 naming host and path (no query) and goes nowhere")
        func noRoute() async throws {
            let harness = try RoutesHarness()
            defer { harness.stop() }
            try await harness.waitForTokens()

            for target in ["/other/x?secret=1", "/paymentsx", "/payments"] {
                let response = try harness.send("GET \(target) HTTP/1.1\r\nHost: localhost:\(harness.proxyPort)\r\n\r\n")
                #expect(response.status == 404, "\(target)")
                #expect(response.jsonString("error") == "no_route")
                #expect(response.jsonString("host") == "localhost:\(harness.proxyPort)")
                #expect(response.jsonString("path") == String(target.split(separator: "?")[0]))
                #expect(!response.bodyText.contains("secret"))
            }
            let connect = try harness.send("CONNECT crm.example.com:443 HTTP/1.1\r\nHost: crm.example.com:443\r\n\r\n")
            #expect(connect.status == 405)
            #expect(connect.jsonString("detail")?.contains("http://") == true)
            #expect(harness.payments.requests.isEmpty && harness.crm.requests.isEmpty)
        }

        @Test("/readyz lists every profile; /metrics labels requests by route and tokens by profile")
        func adminPerProfile() async throws {
            let harness = try RoutesHarness()
            defer { harness.stop() }
            try await harness.waitForTokens()
            #expect(try harness.send("GET /payments/a HTTP/1.1\r\nHost: localhost\r\n\r\n").status == 200)

            let ready = try harness.admin("/readyz")
            #expect(ready.status == 200)
            let profiles = try #require(try JSONSerialization.jsonObject(with: Data(ready.body)) as? [String: Any])["profiles"] as? [String: [String: Any]]
            #expect(profiles?["payments"]?["state"] as? String == "valid")
            #expect(profiles?["crm"]?["state"] as? String == "valid")

            let metrics = try harness.admin("/metrics").bodyText
            #expect(metrics.contains(#"bearer_proxy_requests_total{route="payments",method="GET",status_class="2xx"} 1"#))
            #expect(metrics.contains(#"bearer_proxy_token_valid{profile="payments"} 1"#))
            #expect(metrics.contains(#"bearer_proxy_token_valid{profile="crm"} 1"#))
            #expect(metrics.contains(#"bearer_proxy_token_fetches_total{profile="crm",outcome="success"} 1"#))
        }

        @Test("a profile whose token endpoint fails keeps /readyz not ready and answers its routes 503; the other goes on")
        func oneProfileFailing() async throws {
            let harness = try RoutesHarness()
            defer { harness.stop() }
            try await harness.waitForTokens()
            harness.crmTokens.behave(.rejectClient)
            let reload = harness.yaml(crmScope: "crm.write")
            #expect(harness.proxy.reload(path: try writeConfig(reload, in: harness.directory), environment: [:]))
            try await poll("the new crm profile's fetch to fail") { harness.proxy.tokenStatus(profile: "crm")?.lastFailure != nil }

            let ready = try harness.admin("/readyz")
            #expect(ready.status == 503)
            #expect(ready.jsonString("reason")?.hasPrefix("profile crm: ") == true)
            #expect(try harness.send("GET /v1 HTTP/1.1\r\nHost: crm.example.com\r\n\r\n").status == 503)
            #expect(try harness.send("GET /payments/a HTTP/1.1\r\nHost: localhost\r\n\r\n").status == 200)
        }

        @Test("a reload that changes one profile keeps the other's token and fetches only the changed one")
        func reloadKeepsUnchangedProfile() async throws {
            let harness = try RoutesHarness()
            defer { harness.stop() }
            try await harness.waitForTokens()
            let paymentsToken = try #require(harness.paymentsTokens.issuedTokens.first)

            #expect(harness.proxy.reload(path: try writeConfig(harness.yaml(crmScope: "crm.write"), in: harness.directory), environment: [:]))
            try await poll("the changed crm profile to fetch its token") { harness.crmTokens.requestCount == 2 }
            #expect(TestTokenEndpoint.form(harness.crmTokens.requests[1].body)["scope"] == ["crm.write"])
            let client = try harness.client()
            #expect(try client.exchange("GET /payments/a HTTP/1.1\r\nHost: localhost\r\n\r\n").status == 200)
            #expect(try client.exchange("GET /v1 HTTP/1.1\r\nHost: crm.example.com\r\n\r\n").status == 200)
            #expect(harness.paymentsTokens.requestCount == 1)
            #expect(harness.payments.requests.last?.values(of: "authorization") == ["Bearer \(paymentsToken)"])
            #expect(harness.crm.requests.last?.values(of: "authorization") == ["Bearer \(harness.crmTokens.issuedTokens[1])"])
        }

        @Test("a request whose head straddles a reload is routed on the new configuration")
        func headStraddlesReload() async throws {
            let harness = try RoutesHarness()
            defer { harness.stop() }
            try await harness.waitForTokens()
            let client = try harness.client()
            try client.send("GET /files/late HTTP/1.1\r\nHost: localhost\r\n")
            try await Task.sleep(for: .milliseconds(50))
            let without = harness.yaml(crmScope: "crm.read").components(separatedBy: "  - name: files")[0]
                + "admin:\n  listen: 127.0.0.1:0\n"
            #expect(harness.proxy.reload(path: try writeConfig(without, in: harness.directory), environment: [:]))
            try await Task.sleep(for: .milliseconds(50))
            try client.send("\r\n")
            #expect(try client.readResponse().status == 404)
            #expect(harness.crm.requests.isEmpty)
        }

        @Test("a reload can remove a route: its requests get 404 from then on, on a kept-alive connection too")
        func reloadRemovesRoute() async throws {
            let harness = try RoutesHarness()
            defer { harness.stop() }
            try await harness.waitForTokens()
            let client = try harness.client()
            #expect(try client.exchange("GET /files/a HTTP/1.1\r\nHost: localhost\r\n\r\n").status == 200)

            let without = harness.yaml(crmScope: "crm.read").components(separatedBy: "  - name: files")[0]
                + "admin:\n  listen: 127.0.0.1:0\n"
            #expect(harness.proxy.reload(path: try writeConfig(without, in: harness.directory), environment: [:]))
            try await Task.sleep(for: .milliseconds(50))  // the loops take the new contexts
            #expect(try client.exchange("GET /files/a HTTP/1.1\r\nHost: localhost\r\n\r\n").status == 404)
            #expect(harness.crmTokens.requestCount == 1 && harness.paymentsTokens.requestCount == 1)
        }

        @Test("check-config prints the routing table in matching order; token --profile fetches that profile's token")
        func commandLine() async throws {
            let executable = try #require(executablePath, "build the executable first (swift build)")
            let harness = try RoutesHarness()
            defer { harness.stop() }
            let path = try writeConfig(harness.yaml(crmScope: "crm.read"), in: harness.directory)

            let (checked, table) = try runCapturing(executable, ["check-config", "--config", path])
            #expect(checked == 0)
            let routeLines = table.split(separator: "\n").filter { $0.hasPrefix("    route ") }
            #expect(routeLines.count == 3, "\(table)")
            #expect(routeLines.first?.contains("route crm: host crm.example.com -> https://localhost:\(harness.crm.port) (token crm)") == true)
            #expect(routeLines.last?.contains("route files: path /files -> ") == true)
            #expect(table.contains("route payments: path /payments/ -> https://localhost:\(harness.payments.port)/v2 (token payments, strips /payments)"))
            #expect(table.contains("profile crm client_id: crm-client"))
            #expect(!table.contains("S3CRET"))

            let (fetched, report) = try runCapturing(executable, ["token", "--config", path, "--profile", "crm"])
            #expect(fetched == 0, "\(report)")
            #expect(report.contains("profile: crm"))
            #expect(harness.crmTokens.requests.contains { TestTokenEndpoint.form($0.body)["scope"] == ["crm.read"] })
            let (ambiguous, _) = try runCapturing(executable, ["token", "--config", path])
            #expect(ambiguous == 2)
            let (unknown, _) = try runCapturing(executable, ["token", "--config", path, "--profile", "nope"])
            #expect(unknown == 2)
        }

        private func runCapturing(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
            let process = Process()
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }

        private func writeConfig(_ yaml: String, in directory: String) throws -> String {
            let path = directory + "/routes.conf"
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
    }
}
