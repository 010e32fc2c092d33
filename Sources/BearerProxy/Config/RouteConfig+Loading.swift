extension RouteConfig {
    /// Every key of `upstream:`, plus what says which requests and which token.
    static let keys = UpstreamConfig.keys + ["name", "match", "token", "strip_prefix"]
    static let matchKeys = ["host", "path_prefix"]

    /// `routes:`, checked against `profiles`: every route names a profile that exists (or there is
    /// just one), every profile is used, and no two routes take the same requests.
    static func loadAll(_ top: ConfigMapping, profiles: [TokenProfile], files: ConfigFiles) throws(ConfigError) -> [RouteConfig] {
        guard let node = top.node("routes") else { throw top.missing("routes") }
        guard case .sequence(let items) = node.content, !items.isEmpty else {
            throw top.error("routes", "must be a non-empty list of routes, found \(ConfigMapping.kind(of: node))")
        }
        var routes: [RouteConfig] = []
        for (index, item) in items.enumerated() {
            let section = try ConfigMapping(item, source: top.source, path: "routes[\(index)]", allowedKeys: keys)
            routes.append(try load(section, index: index, profiles: profiles, files: files))
        }
        var names: [String: RouteConfig] = [:]
        for route in routes {
            guard let name = route.name else { continue }
            if let earlier = names[name] {
                throw ConfigError(source: top.source, line: route.line, key: "routes[\(route.label)].name",
                                  message: "\"\(name)\" is already the name of the route at line \(earlier.line ?? 0)")
            }
            names[name] = route
        }
        try checkOverlaps(routes, source: top.source)
        for profile in profiles where !routes.contains(where: { $0.token == profile.name }) {
            throw ConfigError(source: top.source, line: top.line(of: "tokens"), key: "tokens.\(profile.name)",
                              message: "no route uses this profile (set token: \(profile.name) on a route, or remove it)")
        }
        return routes
    }

    private static func load(_ section: ConfigMapping, index: Int, profiles: [TokenProfile], files: ConfigFiles) throws(ConfigError) -> RouteConfig {
        let name = try section.string("name")
        if let name, !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
            throw section.error("name", "must be letters, digits, \"-\", \"_\" or \".\" (it becomes a metrics label)")
        }
        // The label of unnamed routes is their index, and `none` counts refused requests.
        if let name, name == "none" || name.allSatisfy(\.isNumber) {
            throw section.error("name", "\"\(name)\" is reserved (unnamed routes are labelled by index, refused requests \"none\")")
        }
        let match = try loadMatch(section.mapping("match", allowedKeys: matchKeys))
        let stripPrefix = try section.bool("strip_prefix") ?? false
        if stripPrefix, match.pathPrefix == nil {
            throw section.error("strip_prefix", "needs match.path_prefix: there is no prefix to strip")
        }
        let token: String
        if let named = try section.string("token") {
            guard profiles.contains(where: { $0.name == named }) else {
                let known = profiles.map(\.name)
                throw section.error("token", "no token profile named \"\(named)\" (profiles: \(known.joined(separator: ", ")))"
                    + KeySuggestion.hint(for: named, among: known))
            }
            token = named
        } else if profiles.count == 1 {
            token = profiles[0].name
        } else {
            throw ConfigError(source: section.source, line: section.line, key: section.keyPath("token"),
                              message: "required key is missing (which of \(profiles.map(\.name).joined(separator: ", ")) this route uses)")
        }
        return RouteConfig(
            name: name, match: match, upstream: try UpstreamConfig.load(section, files: files), token: token,
            stripPrefix: stripPrefix, line: section.line, label: name ?? String(index))
    }

    private static func loadMatch(_ section: ConfigMapping?) throws(ConfigError) -> RouteMatch {
        guard let section else { return RouteMatch() }
        var match = RouteMatch()
        if let hostPort = try section.value("host", parseHost) {
            (match.host, match.port) = hostPort
        }
        match.pathPrefix = try section.value("path_prefix", parsePathPrefix)
        return match
    }

    /// `name`, `name:port`, `[v6]` or `[v6]:port`, as a Host header names it; lowercased.
    static func parseHost(_ text: String) throws(InvalidValue) -> (String, UInt16?) {
        let notHost = InvalidValue("\"\(text)\" is not a host name (no scheme, path or spaces: write crm.example.com or crm.example.com:8443)")
        // RFC 3986 §3.2.2 reg-name without percent-encoding, IP literals and a port: what a Host header carries in practice.
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:[]".contains($0)) }) else { throw notHost }
        var name = Substring(text.lowercased())
        var portText: Substring?
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { throw InvalidValue("\"\(text)\" is missing \"]\" after the IPv6 address") }
            let rest = name[name.index(after: close)...]
            name = name[name.index(after: name.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw InvalidValue("\"\(text)\" is not host or host:port") }
                portText = rest.dropFirst()
            }
        } else if let colon = name.firstIndex(of: ":") {
            portText = name[name.index(after: colon)...]
            name = name[..<colon]
        }
        guard !name.isEmpty, !name.contains("["), !name.contains("]") else { throw notHost }
        var port: UInt16?
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
                  let value = UInt16(portText), value > 0 else {
                throw InvalidValue("\"\(text)\" has no valid port after \":\"")
            }
            port = value
        }
        return (String(name), port)
    }

    /// An absolute path without query, fragment or dot-segments: matched against the raw target.
    static func parsePathPrefix(_ text: String) throws(InvalidValue) -> String {
        guard text.hasPrefix("/") else { throw InvalidValue("must start with \"/\", e.g. /payments/") }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "?" && $0 != "#" }) else {
            throw InvalidValue("must be a path without spaces, \"?\" or \"#\"")
        }
        let segments = text.split(separator: "/", omittingEmptySubsequences: false)
        if segments.contains(where: { $0 == "." || $0 == ".." }) {
            throw InvalidValue("must not contain \".\" or \"..\" segments")
        }
        return text
    }

    /// Two routes with the same host (and port) and the same prefix, up to a trailing "/", would
    /// take the same requests, and only their order in the file would choose: refused, naming both.
    private static func checkOverlaps(_ routes: [RouteConfig], source: String) throws(ConfigError) {
        for (i, a) in routes.enumerated() {
            for b in routes[(i + 1)...] where a.match.host == b.match.host
                && (a.match.host == nil || a.match.effectivePort == b.match.effectivePort)
                && a.match.prefixStem == b.match.prefixStem {
                throw ConfigError(
                    source: source, line: b.line, key: "routes[\(b.label)].match",
                    message: "takes the same requests (\(b.match)) as the route at line \(a.line ?? 0) (\(a.match)); "
                        + "give one of them another host or path_prefix")
            }
        }
    }
}

extension TokenProfile {
    /// `tokens:`, in file order.
    static func loadAll(_ top: ConfigMapping, files: ConfigFiles, environment: [String: String]) throws(ConfigError) -> [TokenProfile] {
        guard let node = top.node("tokens") else { throw top.missing("tokens") }
        guard case .mapping(let entries) = node.content, !entries.isEmpty else {
            throw top.error("tokens", "must be a mapping of profile names to token settings, found \(ConfigMapping.kind(of: node))")
        }
        var profiles: [TokenProfile] = []
        var variables: [String: String] = [:]
        for (nameNode, valueNode) in entries {
            guard case .scalar(let scalar) = nameNode.content, !scalar.text.isEmpty,
                  scalar.text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw ConfigError(source: top.source, line: nameNode.line, key: "tokens",
                                  message: "profile names must be letters, digits, \"-\", \"_\" or \".\"")
            }
            let name = scalar.text
            // `a-b` and `a.b`, or `Crm` and `crm`, would read one client's secret for both.
            let variable = secretVariable(forProfile: name)
            if let other = variables[variable] {
                throw ConfigError(source: top.source, line: nameNode.line, key: "tokens.\(name)",
                                  message: "\"\(name)\" and \"\(other)\" would both take a secret from \(variable); rename one")
            }
            variables[variable] = name
            let section = try ConfigMapping(valueNode, source: top.source, path: "tokens.\(name)", allowedKeys: TokenConfig.keys)
            let config = try TokenConfig.load(section, files: files, environment: environment,
                                              secretVariable: variable)
            profiles.append(TokenProfile(name: name, config: config))
        }
        return profiles
    }

    /// `BEARER_PROXY_CLIENT_SECRET_<NAME>`: the profile's name in capitals, other characters as "_".
    static func secretVariable(forProfile name: String) -> String {
        TokenConfig.clientSecretEnvironmentVariable + "_"
            + String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
}
