import Foundation
@testable import BearerProxy

/// Config texts and helpers shared by the Config tests.
enum ConfigFixture {
    static let minimal = """
        upstream:
          url: https://api.example.com
        token:
          url: https://auth.example.com/oauth2/token
          client_id: my-app
          client_secret: minimal-secret-value
        """

    /// Parses `yaml` with no environment unless given; relative paths resolve in `baseDirectory`.
    static func parse(
        _ yaml: String,
        environment: [String: String] = [:],
        baseDirectory: String = "/nonexistent-config-dir"
    ) throws(ConfigError) -> ProxyConfig {
        try ProxyConfig.parse(yaml: yaml, baseDirectory: baseDirectory, environment: environment)
    }

    /// The error `yaml` is rejected with, or nil if it loads.
    static func error(
        _ yaml: String,
        environment: [String: String] = [:],
        baseDirectory: String = "/nonexistent-config-dir"
    ) -> ConfigError? {
        do {
            _ = try parse(yaml, environment: environment, baseDirectory: baseDirectory)
            return nil
        } catch {
            return error
        }
    }

    /// `minimal` with `extra` appended (top-level keys, or whole sections).
    static func minimal(plus extra: String) -> String {
        minimal + "\n" + extra
    }

    /// A fresh empty directory under the system temporary directory.
    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "bearer-proxy-config-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ text: String, to path: String) {
        try! Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static let pemCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIBfake
        -----END CERTIFICATE-----

        """
}

/// Namespace for every Config suite, so `swift test --filter Config` selects them all.
enum ConfigTests {}
