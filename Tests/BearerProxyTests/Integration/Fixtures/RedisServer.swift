@testable import BearerProxy
import BearerTLS
import Foundation
import Synchronization

/// A real `redis-server` (Debian's `redis-server` package) on a loopback port, with no
/// persistence. It can be stopped and started again on the same port, to make an outage.
/// Tests fail, not skip, when the program is missing: `.ci/run` installs it.
final class RedisServer: Sendable {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    struct TLSFiles: Sendable {
        var certificate: String
        var key: String
        /// The CA that issued the server certificate, for `ca_file`.
        var caFile: String
    }

    let port: UInt16
    let directory: String
    let password: String?
    let tls: TLSFiles?
    private let process = Mutex<Process?>(nil)

    static let program = "/usr/bin/redis-server"
    static let cli = "/usr/bin/redis-cli"

    /// `password`: `requirepass`, and an ACL user `fleet` with the same password.
    init(password: String? = nil, tls: Bool = false) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.program) else {
            throw Missing(description: "\(Self.program) not found: apt-get install redis-server (the shared-cache tests need a real Redis)")
        }
        directory = try ProxyHarness.makeTemporaryDirectory()
        port = try freePort()
        self.password = password
        if tls {
            let ca = try CertificateAuthority.generate(commonName: "bearer-proxy redis test CA")
            let leaf = try ca.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
            let files = TLSFiles(certificate: directory + "/redis.crt", key: directory + "/redis.key", caFile: directory + "/ca.pem")
            try leaf.certificatePEM.write(toFile: files.certificate, atomically: true, encoding: .utf8)
            try leaf.privateKeyPEM.write(toFile: files.key, atomically: true, encoding: .utf8)
            try ca.certificatePEM.write(toFile: files.caFile, atomically: true, encoding: .utf8)
            self.tls = files
        } else {
            self.tls = nil
        }
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts the server and waits until it answers PING.
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.program)
        var arguments = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory,
                         "--enable-debug-command", "local", "--loglevel", "warning"]
        if let tls {
            arguments += ["--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.certificate,
                          "--tls-key-file", tls.key, "--tls-auth-clients", "no"]
        } else {
            arguments += ["--port", String(port)]
        }
        if let password {
            arguments += ["--requirepass", password, "--user", "fleet", "on", ">\(password)", "~*", "+@all"]
        }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process }
        for _ in 0..<100 {
            if (try? command("PING")) == "PONG" { return }
            usleep(20_000)
        }
        throw Missing(description: "redis-server did not answer on port \(port)")
    }

    /// Kills the server (SIGKILL: as a crash, and the test process's Dispatch threads block
    /// SIGTERM, which a child inherits) and waits for it to exit; connections are refused from then on.
    func stop() {
        guard let process = process.withLock({ current in defer { current = nil }; return current }) else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Runs one command with `redis-cli` and returns its raw output, trimmed.
    @discardableResult
    func command(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.cli)
        var options = ["-h", "127.0.0.1", "-p", String(port)]
        if let tls { options += ["--tls", "--cacert", tls.caFile] }
        if let password { options += ["--no-auth-warning", "-a", password] }
        process.arguments = options + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Keys matching `pattern`, sorted.
    func keys(_ pattern: String = "*") throws -> [String] {
        try command("--raw", "KEYS", pattern).split(separator: "\n").map(String.init).sorted()
    }

    /// `redis://` (or `rediss://`) URL of this server, database `database`.
    func url(database: Int = 0) -> String {
        "\(tls == nil ? "redis" : "rediss")://127.0.0.1:\(port)/\(database)"
    }
}
