/// How log lines are written.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

/// Logging (`log:` section).
public struct LogConfig: Sendable, Equatable {
    /// swift-log level names, most to least verbose.
    public static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    public static let defaults = LogConfig(level: "info", format: .text)

    /// One of `levels`; the loader rejects anything else.
    public var level: String
    public var format: LogFormat
    /// One `request` line per proxied request, at info level.
    public var access: Bool
    /// Log the query string in access lines too (off: a query often carries personal data or keys).
    public var accessQuery: Bool

    public init(level: String, format: LogFormat, access: Bool = true, accessQuery: Bool = false) {
        self.level = level
        self.format = format
        self.access = access
        self.accessQuery = accessQuery
    }
}
