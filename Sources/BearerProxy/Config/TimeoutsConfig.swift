/// Timeouts on the local (downstream) side (`timeouts:` section).
public struct TimeoutsConfig: Sendable, Equatable {
    public static let defaults = TimeoutsConfig(headerRead: .seconds(10), idle: .seconds(60), bodyRead: .seconds(60), tunnelIdle: .seconds(3600))

    /// From the first byte of a request to the end of its head.
    public var headerRead: Duration
    /// How long an idle keep-alive client connection is kept.
    public var idle: Duration
    /// Longest silence while reading a request body.
    public var bodyRead: Duration
    /// Longest silence, both ways, on a WebSocket connection after its 101.
    public var tunnelIdle: Duration

    public init(headerRead: Duration, idle: Duration, bodyRead: Duration, tunnelIdle: Duration = .seconds(3600)) {
        self.headerRead = headerRead
        self.idle = idle
        self.bodyRead = bodyRead
        self.tunnelIdle = tunnelIdle
    }
}
