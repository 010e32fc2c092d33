@testable import BearerProxy
import BearerTLS
import Foundation
import Testing

/// The built `bearer-proxy` executable, next to the test bundle (nil if it was not built).
let executablePath: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let candidate = root.appendingPathComponent(".build/debug/bearer-proxy").path
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
}()

extension Integration {
    /// The real executable, started as an operator or a container runtime would: signals, exit
    /// codes and the healthcheck subcommand.
    @Suite("Command line: signals, healthcheck, --version", .enabled(if: executablePath != nil))
    struct CommandLine {
        /// A proxy process whose config points at the harness's token endpoint and upstream.
        /// @unchecked Sendable: set up in `init`, then only read (Process and the collector lock themselves).
        final class ProxyProcess: @unchecked Sendable {
            let process = Process()
            let stderr = Pipe()
            let port: UInt16
            let adminPort: UInt16
            let configPath: String
            private let collected = LogCollector()

            init(harness: ProxyHarness, upstreamBasePath: String = "") throws {
                port = try freePort()
                adminPort = try freePort()
                configPath = try harness.writeConfig(Self.yaml(harness, port: port, adminPort: adminPort, basePath: upstreamBasePath), name: "process.conf")
                process.executableURL = URL(fileURLWithPath: executablePath!)
                process.arguments = ["--config", configPath]
                process.standardError = stderr
                process.standardOutput = FileHandle.nullDevice
                let collected = self.collected
                stderr.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
                try process.run()
            }

            static func yaml(_ harness: ProxyHarness, port: UInt16, adminPort: UInt16, basePath: String) -> String {
                harness.configYAML
                    .replacingOccurrences(of: "listen: 127.0.0.1:0\nworkers", with: "listen: 127.0.0.1:\(port)\nworkers")
                    .replacingOccurrences(of: "  listen: 127.0.0.1:0", with: "  listen: 127.0.0.1:\(adminPort)")
                    .replacingOccurrences(of: "url: https://localhost:\(harness.upstream.port)\n",
                                          with: "url: https://localhost:\(harness.upstream.port)\(basePath)\n")
                    + "drain_timeout: 10s\n"
            }

            var log: String { collected.text }

            func healthcheck() throws -> Int32 {
                try run([ "healthcheck", "--config", configPath])
            }

            /// Waits until the proxy answers its healthcheck and holds a token.
            func waitUntilReady() async throws {
                let adminPort = self.adminPort
                try await poll("the proxy process to be ready", timeout: .seconds(20)) {
                    (try? RawHTTPClient(port: adminPort).exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n").status) == 200
                }
            }

            func signal(_ number: Int32) { kill(process.processIdentifier, number) }

            /// The exit status, or nil if it is still running after `timeout`.
            func exitStatus(within timeout: Duration) async throws -> Int32? {
                let clock = ContinuousClock()
                let deadline = clock.now + timeout
                while process.isRunning, clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                return process.isRunning ? nil : process.terminationStatus
            }

            deinit {
                if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
                stderr.fileHandleForReading.readabilityHandler = nil
            }
        }

        final class LogCollector: @unchecked Sendable {
            // @unchecked Sendable: `data` is guarded by `lock`.
            private let lock = NSLock()
            private var data = Data()
            func append(_ more: Data) { lock.lock(); data.append(more); lock.unlock() }
            var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
        }

        @Test("--version prints the version and the OpenSSL it runs, and exits 0")
        func version() throws {
            let pipe = Pipe()
            #expect(try run(["--version"], stdout: pipe) == 0)
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == "\(BearerProxyVersion.current) (\(OpenSSLLibrary.version))")
            #expect(OpenSSLLibrary.version.hasPrefix("OpenSSL 3."))
        }

        @Test("SIGTERM: the request in flight completes, then the process exits 0; healthcheck answers before and fails after")
        func sigtermDrains() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            let proxy = try ProxyProcess(harness: harness)
            try await proxy.waitUntilReady()
            #expect(try proxy.healthcheck() == 0)

            harness.upstream.delayAnswers(milliseconds: 700)
            let client = try RawHTTPClient(port: proxy.port)
            try client.send("GET /in-flight HTTP/1.1\r\nHost: 127.0.0.1:\(proxy.port)\r\n\r\n")
            try await Task.sleep(for: .milliseconds(200))
            proxy.signal(SIGTERM)

            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.bodyText == "target=/in-flight")
            #expect(try await proxy.exitStatus(within: .seconds(8)) == 0)
            #expect(try proxy.healthcheck() == 1)
            #expect(proxy.log.contains("signal received: draining"))
        }

        @Test("a second SIGTERM exits at once, without waiting for the drain")
        func secondSignalExits() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            let proxy = try ProxyProcess(harness: harness)
            try await proxy.waitUntilReady()
            harness.upstream.delayAnswers(milliseconds: 5000)
            let client = try RawHTTPClient(port: proxy.port)
            try client.send("GET /stuck HTTP/1.1\r\nHost: 127.0.0.1:\(proxy.port)\r\n\r\n")
            try await Task.sleep(for: .milliseconds(200))
            proxy.signal(SIGTERM)
            try await Task.sleep(for: .milliseconds(200))
            #expect(proxy.process.isRunning)  // draining: the request is still in flight
            proxy.signal(SIGTERM)
            #expect(try await proxy.exitStatus(within: .seconds(2)) == 1)
        }

        @Test("SIGHUP: a bad file is rejected and logged, a good one takes effect for new connections")
        func sighupReloads() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            let proxy = try ProxyProcess(harness: harness)
            try await proxy.waitUntilReady()
            let good = try String(contentsOfFile: proxy.configPath, encoding: .utf8)

            try Data("listen: [oops\n".utf8).write(to: URL(fileURLWithPath: proxy.configPath))
            proxy.signal(SIGHUP)
            try await poll("the rejection to be logged") { proxy.log.contains("config reload rejected") }
            #expect(try RawHTTPClient(port: proxy.port).exchange("GET /a HTTP/1.1\r\nHost: 127.0.0.1:\(proxy.port)\r\n\r\n").bodyText == "target=/a")

            let moved = good.replacingOccurrences(of: "url: https://localhost:\(harness.upstream.port)\n", with: "url: https://localhost:\(harness.upstream.port)/v2\n")
            try Data(moved.utf8).write(to: URL(fileURLWithPath: proxy.configPath))
            proxy.signal(SIGHUP)
            try await poll("the reload to be logged") { proxy.log.contains("config reloaded") }
            #expect(try RawHTTPClient(port: proxy.port).exchange("GET /a HTTP/1.1\r\nHost: 127.0.0.1:\(proxy.port)\r\n\r\n").bodyText == "target=/v2/a")
            proxy.signal(SIGTERM)
            #expect(try await proxy.exitStatus(within: .seconds(8)) == 0)
        }
    }
}

/// Runs the executable to completion and returns its exit status.
@discardableResult
func run(_ arguments: [String], stdout: Pipe? = nil) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executablePath!)
    process.arguments = arguments
    process.standardOutput = stdout ?? FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
func freePort() throws -> UInt16 {
    let listener = try Listener(binding: SocketAddress(ip: "127.0.0.1", port: 0)!, label: "itest.free-port")
    let port = listener.address.port
    listener.close()
    return port
}
