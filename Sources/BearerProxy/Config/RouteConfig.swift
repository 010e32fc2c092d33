/// One API behind the proxy: which requests go to it (`match`), where (`upstream`), and with the
/// token of which profile. The one-route form of the file (`upstream:` and `token:`) is one route
/// that matches every request, with the profile `default`.
public struct RouteConfig: Sendable, Equatable {
    /// `name:` from the file; nil when the route has none.
    public var name: String?
    public var match: RouteMatch
    public var upstream: UpstreamConfig
    /// The name of the token profile (`tokens:`) whose token this route's requests carry.
    public var token: String
    /// Remove the matched path prefix before the upstream's base path is put in front.
    public var stripPrefix: Bool
    /// Where the route starts in the file (nil for the one-route form's implied route).
    public var line: Int?
    /// How metrics and logs name the route: `name`, or its position in `routes` ("0", "1", …).
    public var label: String
}

/// Which requests a route takes. Absent parts match anything.
public struct RouteMatch: Sendable, Equatable, CustomStringConvertible {
    /// Lowercased host name or IP address (IPv6 without brackets).
    public var host: String?
    /// A port the request's authority must name; nil: the default port of its scheme (80 for
    /// plain HTTP, 443 for an `https://` target), or none at all.
    public var port: UInt16?
    /// Starts with "/". Matches on segment boundaries: `/payments` and `/payments/` both take
    /// `/payments/x`, neither takes `/paymentsx`; only `/payments` takes `/payments` itself.
    public var pathPrefix: String?

    public init(host: String? = nil, port: UInt16? = nil, pathPrefix: String? = nil) {
        self.host = host
        self.port = port
        self.pathPrefix = pathPrefix
    }

    /// The port a request names, explicitly or by default, that this route takes.
    public var effectivePort: UInt16 { port ?? 80 }

    /// The prefix without its trailing "/" ("" for "/" or none): what `strip_prefix` removes, and
    /// what two routes are compared on, since `/a` and `/a/` take the same requests below `/a/`.
    public var prefixStem: String {
        guard let prefix = pathPrefix else { return "" }
        return prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
    }

    /// Whether a request tries `self` before `other`: host routes before host-less ones, then the
    /// longer prefix, then an explicit port before an implied one. Neither for routes the loader
    /// would refuse as overlapping.
    func isTried(before other: RouteMatch) -> Bool {
        if (host != nil) != (other.host != nil) { return host != nil }
        if prefixStem.utf8.count != other.prefixStem.utf8.count { return prefixStem.utf8.count > other.prefixStem.utf8.count }
        return port != nil && other.port == nil
    }

    /// The indices of `matches` in the order a request tries them (`isTried(before:)`; ties, which
    /// the loader refuses, keep the file's order).
    static func matchingOrder(_ matches: [RouteMatch]) -> [Int] {
        matches.indices.sorted { a, b in
            matches[a].isTried(before: matches[b]) || (!matches[b].isTried(before: matches[a]) && a < b)
        }
    }

    public var description: String {
        var parts: [String] = []
        if let host { parts.append("host " + (host.contains(":") ? "[\(host)]" : host) + (port.map { ":\($0)" } ?? "")) }
        if let pathPrefix { parts.append("path \(pathPrefix)") }
        return parts.isEmpty ? "every request" : parts.joined(separator: ", ")
    }
}

/// A named set of token settings (`tokens:`); the one-route form has one, named `default`.
public struct TokenProfile: Sendable, Equatable {
    public static let defaultName = "default"

    public var name: String
    public var config: TokenConfig

    public init(name: String, config: TokenConfig) {
        self.name = name
        self.config = config
    }
}
