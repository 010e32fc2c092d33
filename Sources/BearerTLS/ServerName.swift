#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The name a client expects the server's certificate to carry.
enum ServerName: Equatable {
    /// Sent as SNI and matched against DNS subjectAltNames.
    case host(String)
    /// Matched against IP subjectAltNames; never sent as SNI, because
    /// RFC 6066 §3 forbids literal IP addresses in "HostName".
    case ipAddress(String)

    init(_ name: String) throws(TLSError) {
        // "[::1]" as written in URLs (RFC 3986 §3.2.2).
        var name = Substring(name)
        if name.hasPrefix("["), name.hasSuffix("]") {
            name = name.dropFirst().dropLast()
        }
        if ServerName.isIPLiteral(String(name)) {
            self = .ipAddress(String(name))
            return
        }
        // RFC 6066 §3: the HostName is sent without a trailing dot.
        if name.hasSuffix(".") {
            name = name.dropLast()
        }
        guard !name.isEmpty, !name.utf8.contains(0) else {
            throw TLSError(kind: .configuration, reason: "invalid server name \"\(name)\"")
        }
        self = .host(String(name))
    }

    /// Distinct for a host and an address that look alike.
    var cacheKey: String {
        switch self {
        case .host(let host): "dns:" + host.lowercased()
        case .ipAddress(let address): "ip:" + address
        }
    }

    private static func isIPLiteral(_ text: String) -> Bool {
        var buffer = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buffer) { raw in
            inet_pton(AF_INET, text, raw.baseAddress) == 1 || inet_pton(AF_INET6, text, raw.baseAddress) == 1
        }
    }
}
