/// The admin listener serving `/healthz` and `/readyz` (`admin:` section).
public struct AdminConfig: Sendable, Equatable {
    public static let defaultListen = HostPort(host: "127.0.0.1", port: 9901)

    public var listen: HostPort

    public init(listen: HostPort = AdminConfig.defaultListen) {
        self.listen = listen
    }
}
