import Foundation
import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("proxy.conf.example")
    struct ProxyConfigExampleTests {
        /// The worktree root, four levels up from this file.
        static let examplePath = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("proxy.conf.example").path

        @Test("the example loads, with the secret from the environment, and equals the defaults")
        func exampleLoads() throws {
            let config = try ProxyConfig.load(path: Self.examplePath, environment: ["BEARER_PROXY_CLIENT_SECRET": "example"])
            let minimal = try ConfigFixture.parse(ConfigFixture.minimal)
            #expect(config.listen == minimal.listen)
            #expect(config.workers == minimal.workers)
            #expect(config.upstream == minimal.upstream)
            #expect(config.admin == minimal.admin)
            #expect(config.limits == minimal.limits)
            #expect(config.timeouts == minimal.timeouts)
            #expect(config.log == minimal.log)
            #expect(config.drainTimeout == minimal.drainTimeout)
            #expect(config.token.secretSource == .environment("BEARER_PROXY_CLIENT_SECRET"))
            #expect(config.token.url?.description == "https://auth.example.com/oauth2/token")
        }

        @Test("the example's commented secret file line works when uncommented")
        func exampleWithSecretFile() throws {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write("from-file\n", to: directory + "/client_secret")
            let text = try String(contentsOfFile: Self.examplePath, encoding: .utf8).replacingOccurrences(
                of: "  # client_secret_file: /run/secrets/client_secret",
                with: "  client_secret_file: \(directory)/client_secret")
            let config = try ConfigFixture.parse(text)
            #expect(config.token.clientSecret?.value == "from-file")
        }

        @Test("every key the loader knows appears in the example")
        func exampleMentionsEveryKey() throws {
            let text = try String(contentsOfFile: Self.examplePath, encoding: .utf8)
            let keys = ProxyConfig.topLevelKeys + UpstreamConfig.keys + UpstreamConfig.poolKeys + TokenConfig.keys
                + AdminConfig.keys + LimitsConfig.keys + TimeoutsConfig.keys + LogConfig.keys
                + RouteConfig.keys + RouteConfig.matchKeys + SharedCacheConfig.keys
            for key in keys {
                #expect(text.contains("\(key):"), "\(key) is not documented in proxy.conf.example")
            }
        }
    }
}
