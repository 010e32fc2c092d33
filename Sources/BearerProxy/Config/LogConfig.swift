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

    public init(level: String, format: LogFormat) {
        self.level = level
        self.format = format
    }
}
