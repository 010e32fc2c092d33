import ArgumentParser
import BearerProxy
import BearerTLS
import Dispatch
import Logging
#if canImport(Glibc)
import Glibc
#endif

@main
struct BearerProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bearer-proxy",
        abstract: "Adds an OAuth2 bearer token (client credentials grant) to plain HTTP requests and forwards them over TLS.",
        discussion: """
        Runs the proxy when no subcommand is given. Signals: SIGTERM/SIGINT drain and exit 0 (a second one \
        exits at once); SIGHUP reloads the config file and secret files (an invalid file is logged and ignored).
        Start with `bearer-proxy demo` to see it work, `check-config --config F` before deploying a config, and \
        `healthcheck --config F` as a container health check.
        """,
        version: "\(BearerProxyVersion.current) (\(OpenSSLLibrary.version))",
        subcommands: [Run.self, CheckConfig.self, Token.self, HealthCheck.self, Demo.self],
        defaultSubcommand: Run.self
    )
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path of the configuration file (YAML); see proxy.conf.example for every key.")
    var config: String = "/etc/bearer-proxy/proxy.conf"

    /// Loads the file or exits with status 2 and a message naming the key and line.
    func load() -> ProxyConfig {
        do {
            return try ProxyConfig.load(path: config)
        } catch {
            printError("bearer-proxy: invalid configuration: \(error)")
            exitAfterFlushingLogs(2)
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the proxy (the default when no subcommand is given).",
        discussion: "Exits 2 on an invalid config (the message names the key and line), 1 if it cannot start (e.g. the port is taken)."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = options.load()
        let logger = makeLogger(config.log)
        let server: ProxyServer
        do {
            server = try ProxyServer(config: config, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            exitAfterFlushingLogs(1)
        }
        installShutdownHandlers(logger: logger) { done in
            server.shutdown(drainTimeout: server.config.drainTimeout, completion: done)
        }
        let path = options.config
        installReloadHandler(logger: logger) { server.reload(path: path) }
        dispatchMain()
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration file and print what it configures (never a secret). Exits 0 if valid, 2 if not."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = options.load()
        print("\(options.config): OK")
        for line in config.summary() + CredentialReport.lines(config) { print("  \(line)") }
    }
}

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Fetch one token with the configured settings and describe it (endpoint, auth method, scopes, lifetime, JWT header and claims). Exits 0 on success, 1 if no token, 2 on a bad configuration."
    )

    @OptionGroup var options: ConfigOption

    @Flag(help: "Also print the access token itself. It is a live credential: do not paste it anywhere.")
    var showToken = false

    @Option(help: "The token profile (a name under tokens:) to fetch; needed when the file has more than one.")
    var profile: String?

    func run() throws {
        let config = options.load()
        let names = config.tokenProfiles.map(\.name)
        let name: String
        if let profile {
            name = profile
        } else if names.count == 1 {
            name = names[0]
        } else {
            printError("bearer-proxy token: the configuration has \(names.count) token profiles (\(names.joined(separator: ", "))); choose one with --profile NAME")
            exitAfterFlushingLogs(2)
        }
        guard let token = config.profile(named: name) else {
            printError("bearer-proxy token: no token profile named \"\(name)\" (profiles: \(names.joined(separator: ", ")))")
            exitAfterFlushingLogs(2)
        }
        if names.count > 1 || profile != nil { print("profile: \(name)") }
        // The certificates the upstreams of this profile's routes present, to judge a bound token.
        let presented = config.routes.filter { $0.token == name }.map(\.upstream.clientCertificateFile)
        let report = TokenProbe.run(token, showToken: showToken, upstreamCertificateFiles: presented)
        for line in report.lines { print(line) }
        exitAfterFlushingLogs(report.succeeded ? 0 : 1)
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a local token endpoint and a local TLS echo upstream with the proxy in front, and print a curl command to try it."
    )

    @Option(help: "Address for the demo proxy.")
    var listen: String = "127.0.0.1:8080"

    @Flag(help: "Send one request through the proxy, print the answer, and exit (0 if the upstream saw a bearer token).")
    var once = false

    func run() throws {
        let logger = makeLogger(LogConfig(level: once ? "warning" : "info", format: .text))
        let demo: DemoEnvironment
        do {
            demo = try DemoEnvironment(listen: listen, logger: logger)
        } catch {
            printError("bearer-proxy demo: \(error)")
            if "\(error)".contains("Address already in use") {
                printError("(another program uses \(listen); pick a free address with --listen 127.0.0.1:8081, or 127.0.0.1:0 for any)")
            }
            exitAfterFlushingLogs(1)
        }
        let url = "\(demo.proxyURL)/hello?name=world"
        if once {
            demo.runOnce(path: "/hello?name=world") { output, ok in
                print(output)
                demo.stop()
                exitAfterFlushingLogs(ok ? 0 : 1)
            }
            dispatchMain()
        }
        print("""

        bearer-proxy demo is running (all of it inside this process, on loopback):
          token endpoint  \(demo.tokenURL)   (client "\(demo.clientID)", HTTP Basic)
          upstream        \(demo.upstreamURL)   (TLS; echoes each request as it arrived)
          proxy           \(demo.proxyURL)   (config: \(demo.directory)/proxy.conf)

        Try it from another terminal. The client sends plain HTTP and a bogus Authorization;
        the upstream's answer shows the bearer token the proxy put in its place:

          curl -s '\(url)' -H 'Authorization: Basic bm90OnVzZWQ='

        Ctrl-C stops the demo and removes \(demo.directory).

        """)
        // stdout is block-buffered when it is a pipe (`demo | tee`): show the instructions now.
        fflush(nil)
        installShutdownHandlers(logger: logger) { done in
            demo.proxy.shutdown(drainTimeout: .seconds(1)) {
                demo.stop()
                done()
            }
        }
        dispatchMain()
    }
}

// MARK: Helpers

func makeLogger(_ config: LogConfig) -> Logger {
    let level = Logger.Level(rawValue: config.level) ?? .info
    LoggingSystem.bootstrap { label in
        switch config.format {
        case .json:
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        case .text:
            var handler = TextLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
    var logger = Logger(label: "bearer-proxy")
    logger.logLevel = Logger.Level(rawValue: config.level) ?? .info
    return logger
}

/// SIGTERM/SIGINT: drain, then exit 0. A second signal exits at once.
func installShutdownHandlers(logger: Logger, shutdown: @escaping @Sendable (_ done: @escaping @Sendable () -> Void) -> Void) {
    let queue = DispatchQueue(label: "bearer-proxy.signals")
    nonisolated(unsafe) var stopping = false
    for signalNumber in [SIGTERM, SIGINT] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
        source.setEventHandler {
            if stopping {
                logger.warning("second signal: exiting now")
                exitAfterFlushingLogs(1)
            }
            stopping = true
            logger.info("signal received: draining", metadata: ["signal": "\(signalNumber == SIGTERM ? "SIGTERM" : "SIGINT")"])
            shutdown {
                logger.info("stopped")
                exitAfterFlushingLogs(0)
            }
        }
        source.resume()
        retainedSignalSources.append(source)
    }
}

/// SIGHUP: reload the config; runs on its own serial queue, so reloads never overlap.
func installReloadHandler(logger: Logger, reload: @escaping @Sendable () -> Void) {
    signal(SIGHUP, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "bearer-proxy.reload"))
    source.setEventHandler {
        logger.info("signal received: reloading", metadata: ["signal": "SIGHUP"])
        reload()
    }
    source.resume()
    retainedSignalSources.append(source)
}

nonisolated(unsafe) var retainedSignalSources: [any DispatchSourceSignal] = []

func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Exits after the buffered log lines are written (the log writer works on its own queue).
func exitAfterFlushingLogs(_ code: Int32) -> Never {
    LogWriter.standardError.flush()
    exit(code)
}
