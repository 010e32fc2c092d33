#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension ProxyConfig {
    static let topLevelKeys = [
        "listen", "workers", "allowed_hosts", "upstream", "token", "routes", "tokens", "admin",
        "limits", "timeouts", "log", "drain_timeout",
    ]
    static let maxFileSize = SizeLimits.configFile

    /// Reads and validates the config file at `path`. Relative paths inside it are resolved
    /// against its directory. Errors name `path` as given.
    public static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> ProxyConfig {
        let bytes: [UInt8]
        switch ConfigFiles.contents(of: path, limit: maxFileSize) {
        case .success(let contents): bytes = contents
        case .failure(let failure): throw ConfigError(source: path, line: nil, key: "", message: failure.message)
        }
        guard let yaml = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(source: path, line: nil, key: "", message: "is not valid UTF-8 text")
        }
        var directory = ConfigFiles.directory(of: path)
        // Made absolute when the working directory is known; otherwise (it was deleted, say) the
        // relative directory still resolves against it, never against "/".
        let current = ConfigFiles.currentDirectory()
        if !directory.hasPrefix("/"), !current.isEmpty {
            directory = directory.isEmpty ? current : current + "/" + directory
        }
        return try parse(yaml: yaml, sourceName: path, baseDirectory: directory, environment: environment)
    }

    /// Validates configuration text. `baseDirectory` resolves relative file paths;
    /// `environment` supplies `BEARER_PROXY_CLIENT_SECRET`.
    public static func parse(
        yaml: String,
        sourceName: String = "proxy.conf",
        baseDirectory: String,
        environment: [String: String]
    ) throws(ConfigError) -> ProxyConfig {
        let root: YAMLNode
        do {
            root = try YAMLComposer.compose(yaml) ?? YAMLNode(content: .mapping([]), line: 1)
        } catch {
            throw ConfigError(yamlError: error, source: sourceName, yaml: yaml)
        }
        let files = ConfigFiles(baseDirectory: baseDirectory)
        let top = try ConfigMapping(root, source: sourceName, path: "", allowedKeys: topLevelKeys)

        let listen = try top.value("listen", HostPort.parse) ?? defaultListen
        let workers = try top.integer("workers", in: 0...maxWorkers) ?? 0
        let allowedHosts = try top.strings("allowed_hosts") ?? []
        for (index, host) in allowedHosts.enumerated() where host.contains(where: { $0.isWhitespace || $0 == "/" }) {
            throw ConfigError(
                source: sourceName, line: top.line(of: "allowed_hosts"), key: "allowed_hosts[\(index)]",
                message: "\"\(host)\" is not a Host header value")
        }

        let (routes, profiles) = try loadRoutes(top, files: files, environment: environment)
        let admin = try AdminConfig.load(try top.mapping("admin", allowedKeys: AdminConfig.keys))
        if let admin, admin.listen == listen, listen.port != 0 {
            throw ConfigError(
                source: sourceName, line: top.line(of: "admin"), key: "admin.listen",
                message: "must differ from listen (\(listen))")
        }

        return ProxyConfig(
            listen: listen,
            workers: workers == 0 ? ProcessInfo.processInfo.activeProcessorCount : workers,
            allowedHosts: allowedHosts.map { $0.lowercased() },
            routes: routes,
            tokenProfiles: profiles,
            usesRoutes: top.node("routes") != nil,
            admin: admin,
            limits: try LimitsConfig.load(try top.mapping("limits", allowedKeys: LimitsConfig.keys)),
            timeouts: try TimeoutsConfig.load(try top.mapping("timeouts", allowedKeys: TimeoutsConfig.keys)),
            log: try LogConfig.load(try top.mapping("log", allowedKeys: LogConfig.keys)),
            drainTimeout: try top.duration("drain_timeout", allowZero: true) ?? defaultDrainTimeout)
    }
}

extension ProxyConfig {
    /// The one-route form (`upstream:` and `token:`), or `routes:` with `tokens:` (or with one
    /// `token:`, which is then the profile `default`). Mixing the forms is refused: which upstream
    /// or which token a request gets must not depend on a rule nobody reads.
    static func loadRoutes(
        _ top: ConfigMapping, files: ConfigFiles, environment: [String: String]
    ) throws(ConfigError) -> ([RouteConfig], [TokenProfile]) {
        let hasRoutes = top.line(of: "routes") != nil
        let hasTokens = top.line(of: "tokens") != nil
        if hasRoutes, top.line(of: "upstream") != nil {
            throw top.error("upstream", "set either upstream (one API) or routes (several), not both; move it into a route")
        }
        if hasTokens, top.line(of: "token") != nil {
            throw top.error("token", "set either token (one profile) or tokens (named profiles), not both")
        }
        if hasTokens, !hasRoutes {
            throw top.error("tokens", "named token profiles need routes: that say which requests use which profile")
        }
        if !hasRoutes {
            let upstream = try UpstreamConfig.load(try top.section("upstream", allowedKeys: UpstreamConfig.keys), files: files)
            let token = try TokenConfig.load(try top.section("token", allowedKeys: TokenConfig.keys), files: files, environment: environment)
            let oneRoute = ProxyConfig(upstream: upstream, token: token)
            return (oneRoute.routes, oneRoute.tokenProfiles)
        }
        let profiles: [TokenProfile]
        if hasTokens {
            profiles = try TokenProfile.loadAll(top, files: files, environment: environment)
        } else {
            let token = try TokenConfig.load(try top.section("token", allowedKeys: TokenConfig.keys), files: files, environment: environment)
            profiles = [TokenProfile(name: TokenProfile.defaultName, config: token)]
        }
        return (try RouteConfig.loadAll(top, profiles: profiles, files: files), profiles)
    }
}

extension ConfigError {
    /// Words a YAML error the way libyaml does (problem, then context), at its line, without
    /// quoting the file, which could show a secret.
    init(yamlError error: YAMLError, source: String, yaml: String) {
        let invalid = "invalid YAML"
        switch error {
        case .syntax(let problem, let context, let line):
            var detail = context.map { "\(problem) (\($0))" } ?? problem
            // The most common YAML mistake; libyaml's own wording does not mention it.
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            if line >= 1, line <= lines.count, lines[line - 1].contains("\t") {
                detail += "; indent with spaces, not tabs"
            }
            self.init(source: source, line: line, key: "", message: "\(invalid): \(detail)")
        case .reader(let problem):
            self.init(source: source, line: nil, key: "", message: "\(invalid): \(problem)")
        case .duplicateKey(let name, let line):
            self.init(source: source, line: line, key: name, message: "duplicate key")
        case .unsupported(let message, let line):
            self.init(source: source, line: line, key: "", message: message)
        case .memory:
            self.init(source: source, line: nil, key: "", message: invalid)
        }
    }
}
