/// How the credentials the configuration names stand right now, for `check-config`: what the
/// configuration summary cannot say without reading them (it never reads a credential).
/// Never a value: a federated assertion is described by its claims.
public enum CredentialReport {
    /// One line per profile whose credential can be judged now, with its profile name.
    public static func lines(_ config: ProxyConfig) -> [String] {
        lines(config, now: TokenClock.system.secondsSince1970())
    }

    static func lines(_ config: ProxyConfig, now: Double) -> [String] {
        var lines: [String] = []
        for profile in config.tokenProfiles {
            let token = profile.config
            guard token.authMethod == .federatedJWT, let path = token.assertionFile else { continue }
            let prefix = config.tokenProfiles.count > 1 ? "profile \(profile.name): " : ""
            lines.append(prefix + "assertion now: " + describeAssertion(at: path, now: now))
        }
        return lines
    }

    /// The assertion in `path` as it would be sent now, or why it would not be.
    static func describeAssertion(at path: String, now: Double) -> String {
        switch FederatedAssertion.load(from: path, now: now) {
        case .success(let assertion): return assertion.description(now: now)
        case .failure(let error): return "NOT usable (\(error)); requests get 503 until it is"
        }
    }
}
