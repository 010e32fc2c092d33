/// Chooses the route of a request from its authority and path, the same way whatever the order
/// of the routes in the file: routes with a host first, then the host-less ones; among those
/// that match, the longest path prefix. The loader has refused two routes that would tie.
struct RouteTable: Sendable {
    struct Entry: Sendable {
        /// Index in `routes`.
        var route: Int
        var host: String?
        var port: UInt16?
        /// The prefix as configured ("/" when none), and without its trailing "/".
        var prefix: [UInt8]
        var stem: [UInt8]
    }

    /// Host routes, then host-less ones, each group longest prefix first; a route with an
    /// explicit port before one that takes the port by default.
    let entries: [Entry]
    /// The proxy's own port: a Host header that names it names no other port.
    let listenPort: UInt16

    init(_ matches: [RouteMatch], listenPort: UInt16) {
        self.listenPort = listenPort
        entries = RouteMatch.matchingOrder(matches).map { index in
            let match = matches[index]
            return Entry(route: index, host: match.host, port: match.port,
                         prefix: Array((match.pathPrefix ?? "/").utf8), stem: Array(match.prefixStem.utf8))
        }
    }

    /// True when a route takes this host on this port (explicit, or the default one): such a
    /// host is accepted like a local name. Another port of a route's host is not accepted.
    func takesHost(_ name: String, port: UInt16?, defaultPort: UInt16) -> Bool {
        entries.contains { $0.host == name && Self.port(port, defaultPort: defaultPort, matches: $0, listenPort: listenPort) }
    }

    /// The route for a request to `authority` (lowercased name and port, nil when the request
    /// named none) whose default port is `defaultPort`, with `path` (no query); nil when no route
    /// takes it.
    func route(name: String?, port: UInt16?, defaultPort: UInt16, path: ArraySlice<UInt8>) -> Int? {
        for entry in entries {
            if let host = entry.host {
                guard let name, name == host, Self.port(port, defaultPort: defaultPort, matches: entry, listenPort: listenPort) else { continue }
            }
            if Self.path(path, isUnder: entry) { return entry.route }
        }
        return nil
    }

    /// True when some route names this host, on whatever port.
    func namesHost(_ name: String) -> Bool {
        entries.contains { $0.host == name }
    }

    /// A route with a port takes that port, named or by default; one without takes no port, the
    /// scheme's default, or the proxy's own (as a Host header names it).
    private static func port(_ port: UInt16?, defaultPort: UInt16, matches entry: Entry, listenPort: UInt16? = nil) -> Bool {
        if let wanted = entry.port { return (port ?? defaultPort) == wanted }
        guard let port else { return true }
        return port == defaultPort || port == listenPort
    }

    /// Segment-boundary prefix match: `/a/` and `/a` take `/a/…`; `/a` also takes `/a` itself;
    /// neither takes `/ab`.
    static func path(_ path: ArraySlice<UInt8>, isUnder entry: Entry) -> Bool {
        if entry.stem.isEmpty { return true }
        guard path.starts(with: entry.stem) else { return false }
        let rest = path.dropFirst(entry.stem.count)
        if rest.isEmpty { return entry.prefix.count == entry.stem.count }  // "/a" takes "/a"; "/a/" does not
        return rest.first == UInt8(ascii: "/")
    }
}
