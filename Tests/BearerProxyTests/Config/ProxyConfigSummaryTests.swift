import Foundation
import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("ProxyConfig summary")
    struct ProxyConfigSummaryTests {
        static let distinctive = "S3CRET-summary-0815"

        @Test("summary never contains the secret and says it is inline")
        func inlineSecret() throws {
            let config = try ConfigFixture.parse(
                ConfigFixture.minimal.replacingOccurrences(of: "minimal-secret-value", with: Self.distinctive))
            let summary = config.summary()
            #expect(!summary.joined(separator: "\n").contains(Self.distinctive))
            #expect(summary.contains("client secret: inline in config"))
        }

        @Test("summary names the secret file and whether it is readable")
        func fileSecret() throws {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write(Self.distinctive + "\n", to: directory + "/secret")
            let yaml = ConfigFixture.minimal.replacingOccurrences(
                of: "client_secret: minimal-secret-value", with: "client_secret_file: secret")
            let summary = try ConfigFixture.parse(yaml, baseDirectory: directory).summary()
            #expect(!summary.joined(separator: "\n").contains(Self.distinctive))
            #expect(summary.contains("client secret: file \(directory)/secret, readable"))
        }

        @Test("summary names the environment variable for an environment secret")
        func environmentSecret() throws {
            let yaml = ConfigFixture.minimal.replacingOccurrences(of: "  client_secret: minimal-secret-value", with: "")
            let summary = try ConfigFixture.parse(yaml, environment: ["BEARER_PROXY_CLIENT_SECRET": Self.distinctive]).summary()
            #expect(!summary.joined(separator: "\n").contains(Self.distinctive))
            #expect(summary.contains("client secret: environment BEARER_PROXY_CLIENT_SECRET"))
        }

        @Test("summary states listen, upstream verification, token url, client, method, scopes and admin")
        func facts() throws {
            let config = try ConfigFixture.parse(ConfigFixture.minimal + "\n  scopes: [a, b]")
            let summary = config.summary()
            #expect(summary.contains("listen: 127.0.0.1:8080 (plain HTTP)"))
            #expect(summary.contains("upstream: https://api.example.com (certificate verified against system trust store)"))
            #expect(summary.contains("token url: https://auth.example.com/oauth2/token (certificate verified against system trust store)"))
            #expect(summary.contains("client_id: my-app"))
            #expect(summary.contains("auth method: client_secret_basic (basic_encoding: form)"))
            #expect(summary.contains("scopes: a b"))
            #expect(summary.contains("admin: 127.0.0.1:9901 (/healthz, /readyz, /metrics)"))
            #expect(!summary.contains { $0.hasPrefix("WARNING") })
        }

        @Test("summary warns loudly about skipped verification, plain http and a non-loopback listener")
        func warnings() throws {
            let yaml = """
                listen: 0.0.0.0:8080
                upstream:
                  url: http://api.example.com
                  insecure_http: true
                token:
                  url: https://auth.example.com/oauth2/token
                  client_id: my-app
                  client_secret: x
                  insecure_skip_verify: true
                admin: {enabled: false}
                """
            let summary = try ConfigFixture.parse(yaml).summary()
            let warnings = summary.filter { $0.hasPrefix("WARNING:") }
            #expect(warnings.count == 3)
            #expect(warnings.contains { $0.contains("upstream.url uses plain http") })
            #expect(warnings.contains { $0.contains("token.insecure_skip_verify") })
            #expect(warnings.contains { $0.contains("not a loopback address") })
            #expect(summary.contains("admin: disabled"))
            #expect(summary.contains("token url: https://auth.example.com/oauth2/token (certificate NOT verified)"))
        }
    }
}
