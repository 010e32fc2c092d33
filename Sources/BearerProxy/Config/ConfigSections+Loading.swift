// Loaders for the small sections; each takes nil when the section is absent or null.

extension AdminConfig {
    static let keys = ["listen", "enabled"]

    /// Enabled on 127.0.0.1:9901 unless `enabled: false`.
    static func load(_ section: ConfigMapping?) throws(ConfigError) -> AdminConfig? {
        guard let section else { return AdminConfig() }
        let listen = try section.value("listen", HostPort.parse) ?? defaultListen
        guard try section.bool("enabled") ?? true else { return nil }
        return AdminConfig(listen: listen)
    }
}

extension LimitsConfig {
    static let keys = ["max_request_line", "max_header_bytes", "max_header_count", "max_body_size", "max_connections"]

    static func load(_ section: ConfigMapping?) throws(ConfigError) -> LimitsConfig {
        guard let section else { return .defaults }
        let limits = LimitsConfig(
            maxRequestLine: try section.integer("max_request_line", in: 1...Int.max) ?? defaults.maxRequestLine,
            maxHeaderBytes: try section.integer("max_header_bytes", in: 1...Int.max) ?? defaults.maxHeaderBytes,
            maxHeaderCount: try section.integer("max_header_count", in: 1...Int.max) ?? defaults.maxHeaderCount,
            maxBodySize: try section.integer("max_body_size", in: 1...Int.max).map(UInt64.init) ?? defaults.maxBodySize,
            maxConnections: try section.integer("max_connections", in: 1...1_000_000) ?? defaults.maxConnections)
        // The request line is part of the head, so a larger line limit could never apply.
        guard limits.maxRequestLine <= limits.maxHeaderBytes else {
            throw section.error(
                "max_request_line",
                "must not exceed max_header_bytes (\(limits.maxHeaderBytes)), which includes the request line")
        }
        return limits
    }
}

extension TimeoutsConfig {
    static let keys = ["header_read", "idle", "body_read", "tunnel_idle"]

    static func load(_ section: ConfigMapping?) throws(ConfigError) -> TimeoutsConfig {
        guard let section else { return .defaults }
        return TimeoutsConfig(
            headerRead: try section.duration("header_read") ?? defaults.headerRead,
            idle: try section.duration("idle") ?? defaults.idle,
            bodyRead: try section.duration("body_read") ?? defaults.bodyRead,
            tunnelIdle: try section.duration("tunnel_idle") ?? defaults.tunnelIdle)
    }
}

extension LogConfig {
    static let keys = ["level", "format", "access", "access_query"]

    static func load(_ section: ConfigMapping?) throws(ConfigError) -> LogConfig {
        guard let section else { return .defaults }
        let level = try section.value("level") { text throws(InvalidValue) in
            guard levels.contains(text) else {
                throw InvalidValue("must be one of \(levels.joined(separator: ", "))"
                    + KeySuggestion.hint(for: text, among: levels))
            }
            return text
        }
        let format = try section.value("format") { text throws(InvalidValue) in
            guard let format = LogFormat(rawValue: text) else {
                throw InvalidValue("must be text or json" + KeySuggestion.hint(for: text, among: ["text", "json"]))
            }
            return format
        }
        return LogConfig(level: level ?? defaults.level, format: format ?? defaults.format,
                         access: try section.bool("access") ?? defaults.access,
                         accessQuery: try section.bool("access_query") ?? defaults.accessQuery)
    }
}
