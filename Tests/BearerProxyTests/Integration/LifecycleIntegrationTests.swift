@testable import BearerProxy
import Dispatch
import Foundation
import Logging
import Testing
import BearerSync

extension Integration {
    @Suite("Lifecycle: drain on shutdown, reload on SIGHUP")
    struct Lifecycle {
        @Test("shutdown lets a request in flight finish, closes idle keep-alive connections, and ends before the drain timeout")
        func drainCompletesInFlightRequest() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let idle = try harness.client()
            #expect(try idle.exchange(harness.get("/warm")).status == 200)  // now idle, keep-alive

            harness.upstream.delayAnswers(milliseconds: 600)
            let busy = try harness.client()
            try busy.send(harness.get("/slow"))
            try await Task.sleep(for: .milliseconds(200))  // the request is upstream now

            let finished = Locked<ContinuousClock.Instant?>(nil)
            let started = ContinuousClock.now
            harness.proxy.shutdown(drainTimeout: .seconds(10)) { finished.withLock { $0 = .now } }

            let response = try busy.readResponse()
            #expect(response.status == 200)
            #expect(response.bodyText == "target=/slow")
            #expect(idle.waitForClose())
            try await poll("the drain to finish") { finished.withLock { $0 } != nil }
            let took = finished.withLock { $0 }! - started
            #expect(took < .seconds(5))
            #expect(throws: (any Error).self) { try RawHTTPClient(port: harness.proxyPort).exchange(harness.get("/late")) }
        }

        @Test("a request still in flight when drain_timeout ends is cut, and its access line says so")
        func drainTimeoutCutsAndLogs() async throws {
            let buffer = CapturingLogHandler.Buffer()
            var options = ProxyHarness.Options()
            options.logger = CapturingLogHandler.logger(into: buffer)
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.delayAnswers(milliseconds: 3000)
            let busy = try harness.client()
            try busy.send(harness.get("/too-slow"))
            try await Task.sleep(for: .milliseconds(200))

            let finished = Locked<Bool>(false)
            harness.proxy.shutdown(drainTimeout: .milliseconds(300)) { finished.withLock { $0 = true } }
            try await poll("the drain to end") { finished.withLock { $0 } }
            #expect(busy.waitForClose())
            #expect(buffer.text.contains("drain timeout reached"))
            let line = buffer.text.split(separator: "\n").first { $0.contains("] request ") && $0.contains("path=/too-slow") }
            #expect(line?.contains("status=0") == true, "\(buffer.text)")
        }

        @Test("/readyz turns 503 while draining")
        func notReadyWhileDraining() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.delayAnswers(milliseconds: 800)
            let busy = try harness.client()
            try busy.send(harness.get("/slow"))
            try await Task.sleep(for: .milliseconds(200))
            harness.proxy.shutdown(drainTimeout: .seconds(5)) {}
            let response = try harness.admin("/readyz")
            #expect(response.status == 503)
            #expect(response.jsonString("reason") == "shutting down")
            #expect(try busy.readResponse().status == 200)
        }

        @Test("a valid new config is put in force for new connections, and for an open keep-alive connection from its next request")
        func reloadGoodConfig() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let old = try harness.client()
            #expect(try old.exchange(harness.get("/before")).bodyText == "target=/before")

            let yaml = harness.configYAML.replacingOccurrences(
                of: "url: https://localhost:\(harness.upstream.port)\n", with: "url: https://localhost:\(harness.upstream.port)/v2\n")
            #expect(yaml != harness.configYAML)
            #expect(harness.proxy.reload(path: try harness.writeConfig(yaml), environment: [:]))

            #expect(try harness.client().exchange(harness.get("/after")).bodyText == "target=/v2/after")
            // A connection opened before the reload (most client pools hold one open) takes the new
            // configuration at its next request.
            #expect(try old.exchange(harness.get("/again")).bodyText == "target=/v2/again")
            let ready = try harness.admin("/readyz")
            #expect(ready.status == 200)  // same token settings: the cached token was kept
            #expect(ready.bodyText.contains("\"config_generation\":2"))
            #expect(harness.tokenEndpoint.requestCount == 1)
            #expect(try harness.admin("/metrics").bodyText.contains(#"bearer_proxy_config_reloads_total{outcome="success"} 1"#))
        }

        @Test("changed token settings make a new token provider, which fetches at once")
        func reloadNewTokenSettings() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let yaml = harness.configYAML.replacingOccurrences(of: "timeout: 2s", with: "timeout: 3s")
            #expect(harness.proxy.reload(path: try harness.writeConfig(yaml), environment: [:]))
            try await poll("the new provider's first fetch") { harness.tokenEndpoint.requestCount == 2 }
            #expect(try harness.client().exchange(harness.get("/x")).status == 200)
        }

        /// With a client that keeps one connection open, a reload never took effect, and the
        /// replaced provider went on fetching tokens for as long as that connection lived.
        @Test("new token settings reach a kept-alive connection at its next request; the replaced provider stops fetching")
        func reloadReachesKeptAliveConnection() async throws {
            let harness = try ProxyHarness(.init(tokenBehaviour: .issue(expiresIn: 2)))
            defer { harness.stop() }
            try await harness.waitForToken()
            let client = try harness.client()
            #expect(try client.exchange(harness.get("/before")).status == 200)
            let oldToken = try #require(harness.upstream.requests.last?.values(of: "authorization").first)

            let yaml = harness.configYAML.replacingOccurrences(of: "min_request_interval:", with: "scopes: [after-reload]\n  min_request_interval:")
            #expect(yaml != harness.configYAML)
            #expect(harness.proxy.reload(path: try harness.writeConfig(yaml), environment: [:]))
            let reloadedAt = harness.tokenEndpoint.requestCount
            try await poll("the new provider's first fetch") {
                harness.tokenEndpoint.requests.contains { TestTokenEndpoint.form($0.body)["scope"] == ["after-reload"] }
            }

            #expect(try client.exchange(harness.get("/after")).status == 200)
            let newToken = try #require(harness.upstream.requests.last?.values(of: "authorization").first)
            #expect(newToken != oldToken)
            // Fetched by the new configuration (the test endpoint puts the scope into the token).
            #expect(newToken.contains("-scope-after-reload-"), "\(newToken)")

            // The old provider would refresh its 2 s tokens every ~1.8 s; it asks no more.
            try await Task.sleep(for: .seconds(3))
            let oldScopeRequests = harness.tokenEndpoint.requests.dropFirst(reloadedAt).filter {
                TestTokenEndpoint.form($0.body)["scope"] == nil
            }.count
            #expect(oldScopeRequests == 0, "the replaced provider fetched \(oldScopeRequests) more tokens")
            #expect(try client.exchange(harness.get("/later")).status == 200)
        }

        @Test("an invalid new config is rejected with a log line and the old one stays in force")
        func reloadBadConfig() async throws {
            let buffer = CapturingLogHandler.Buffer()
            var options = ProxyHarness.Options()
            options.logger = CapturingLogHandler.logger(into: buffer)
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            let broken = harness.configYAML.replacingOccurrences(of: "workers:", with: "wrokers:")
            #expect(!harness.proxy.reload(path: try harness.writeConfig(broken), environment: [:]))
            #expect(!harness.proxy.reload(path: harness.directory + "/missing.conf", environment: [:]))
            let badCA = harness.configYAML.replacingOccurrences(of: "ca.pem", with: "no-such-ca.pem")
            #expect(!harness.proxy.reload(path: try harness.writeConfig(badCA), environment: [:]))

            #expect(buffer.text.contains("config reload rejected"))
            #expect(try harness.client().exchange(harness.get("/still")).bodyText == "target=/still")
            let ready = try harness.admin("/readyz")
            #expect(ready.status == 200)
            #expect(ready.bodyText.contains("\"config_generation\":1"))
            #expect(ready.jsonString("last_reload_error") != nil)
            #expect(try harness.admin("/metrics").bodyText.contains(#"bearer_proxy_config_reloads_total{outcome="failure"} 3"#))
        }

        // The listening sockets share their port with SO_REUSEPORT (one per loop); another
        // process of the same user must still not be able to join them and take a share.
        @Test("a second proxy on a port the first listens on fails to start, as before SO_REUSEPORT")
        func portInUse() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            let yaml = harness.configYAML
                .replacingOccurrences(of: "listen: 127.0.0.1:0\nworkers", with: "listen: 127.0.0.1:\(harness.proxyPort)\nworkers")
                .replacingOccurrences(of: "admin:\n  listen: 127.0.0.1:0", with: "admin:\n  enabled: false")
            #expect(yaml != harness.configYAML)
            let config = try ProxyConfig.parse(yaml: yaml, sourceName: "second.conf", baseDirectory: harness.directory, environment: [:])
            #expect(throws: StartupError.self) {
                let second = try ProxyServer(config: config, logger: Logger(label: "second", factory: { _ in SwiftLogNoOpLogHandler() }))
                second.shutdown(drainTimeout: .zero) {}
            }
            // Connections still all reach the first.
            for _ in 0..<8 { #expect(try harness.client().exchange(harness.get("/mine")).status == 200) }
        }

        @Test("a reload that changes listen moves the listener")
        func reloadRebinds() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let oldPort = harness.proxyPort
            let yaml = harness.configYAML.replacingOccurrences(of: "listen: 127.0.0.1:0\nworkers", with: "listen: 127.0.0.2:0\nworkers")
            #expect(harness.proxy.reload(path: try harness.writeConfig(yaml), environment: [:]))
            #expect(harness.proxy.listenAddress.ip == "127.0.0.2")
            #expect(throws: (any Error).self) { try RawHTTPClient(port: oldPort).exchange(harness.get("/old")) }
        }
    }
}
