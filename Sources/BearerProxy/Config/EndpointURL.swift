/// An `http`/`https` URL of the upstream or the token endpoint, split into the parts a
/// client needs: where to connect, what to send as `Host`, and the request path.
public struct EndpointURL: Sendable, Equatable, CustomStringConvertible {
    /// How the path of a URL is kept.
    enum Role {
        /// Token endpoint: full path and query, `/` when empty.
        case endpoint
        /// Upstream: a base path prefixed to every request, no trailing slash, `""` when none.
        case basePath
    }

    /// `https` or `http`.
    public var scheme: String
    /// Lowercased host; IPv6 without brackets.
    public var host: String
    /// Explicit port, or 443/80 for the scheme.
    public var port: UInt16
    /// Token endpoint: path and query (`/oauth2/token`, default `/`).
    /// Upstream: base path without trailing slash (`/v2`, `""` when none).
    public var path: String

    public init(scheme: String, host: String, port: UInt16, path: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
    }

    public var isTLS: Bool { scheme == "https" }

    public var defaultPort: UInt16 { isTLS ? 443 : 80 }

    /// `Host` header value. RFC 9110 §7.2: the port is omitted when it is the scheme's
    /// default; RFC 3986 §3.2.2: an IPv6 literal is enclosed in brackets.
    public var authority: String {
        let host = HostPort.bracketed(host)
        return port == defaultPort ? host : "\(host):\(port)"
    }

    public var description: String {
        "\(scheme)://\(authority)\(path)"
    }

    /// Messages never echo the URL: a user might have pasted one with a password in it.
    static func parse(_ text: String, role: Role) throws(InvalidValue) -> EndpointURL {
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw InvalidValue("must not contain spaces or control characters")
        }
        guard let separator = text.firstRange(of: "://") else {
            throw InvalidValue("must be an absolute URL such as https://host/path")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else {
            throw InvalidValue("scheme must be https")
        }
        let rest = text[separator.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var tail = String(rest[authorityEnd...])

        guard !authority.contains("@") else {
            throw InvalidValue("must not contain a user name or password")
        }
        let (host, port) = try parseAuthority(authority, defaultPort: scheme == "https" ? 443 : 80)

        guard !tail.contains("#") else {
            throw InvalidValue("must not contain a fragment (#...)")
        }
        switch role {
        case .endpoint:
            if !tail.hasPrefix("/") { tail = "/" + tail }
        case .basePath:
            guard !tail.contains("?") else {
                throw InvalidValue("must not contain a query; only a base path is allowed, e.g. https://api.example.com/v2")
            }
            while tail.hasSuffix("/") { tail.removeLast() }
        }
        return EndpointURL(scheme: scheme, host: host, port: port, path: tail)
    }

    private static func parseAuthority(_ authority: Substring, defaultPort: UInt16) throws(InvalidValue) -> (String, UInt16) {
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw InvalidValue("is missing \"]\" after the IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw InvalidValue("has text after the IPv6 address") }
                portText = rest.dropFirst()
            }
            guard HostPort.isIPv6(String(host)) else {
                throw InvalidValue("has an invalid IPv6 address")
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else {
            throw InvalidValue("has no host")
        }
        guard authority.hasPrefix("[") || HostPort.isValidHostName(String(host)) else {
            throw InvalidValue("has an invalid host name")
        }
        var port = defaultPort
        if let portText {
            guard let parsed = HostPort.parsePort(portText), parsed != 0 else {
                throw InvalidValue("port must be a number from 1 to 65535")
            }
            port = parsed
        }
        return (host.lowercased(), port)
    }
}
