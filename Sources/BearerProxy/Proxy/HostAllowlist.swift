/// Which `Host` values the proxy answers to.
///
/// A web page in a browser on the same machine can send requests to the proxy's loopback port
/// under a name it controls (DNS rebinding) and read the answers, riding on this client's token.
/// Such requests carry that foreign name in `Host`, so only local names and the configured
/// extra names are served; anything else is answered 421 and never forwarded.
struct HostAllowlist: Sendable {
    /// The names, each once. Looked up for every request: a short list is searched in order
    /// (host names of up to 15 bytes compare as two words), which costs less than hashing the
    /// name; a long one goes through `set`.
    private let names: [String]
    private let set: Set<String>?
    private let port: UInt16

    /// `port` is the port the proxy listens on; a Host that names a port must name this one.
    init(extraNames: [String], port: UInt16) {
        var unique = Set<String>()
        names = (["localhost", "127.0.0.1", "::1"] + extraNames.map { $0.lowercased() }).filter { unique.insert($0).inserted }
        set = names.count > Self.listedInOrder ? unique : nil
        self.port = port
    }

    private static let listedInOrder = 16

    /// A host name (lowercased, IPv6 without brackets) that is local or listed, on any port.
    func contains(name: String) -> Bool {
        if let set { return set.contains(name) }
        return names.contains(name)
    }

    func allows(_ host: ArraySlice<UInt8>) -> Bool {
        guard let (name, hostPort) = Self.split(host) else { return false }
        return allows(name: name, port: hostPort)
    }

    /// The same for a host already split (`split`).
    func allows(name: String, port hostPort: UInt16?) -> Bool {
        if let hostPort, hostPort != port { return false }
        return contains(name: name)
    }

    /// "name", "name:port", "[v6]" or "[v6]:port" → lowercased name (brackets removed) and port.
    /// Read as bytes: this runs for every request, and only ASCII letters are lowercased (a name
    /// with other bytes matches no local or configured name, which are ASCII).
    static func split(_ host: ArraySlice<UInt8>) -> (String, UInt16?)? {
        var name = host.startIndex..<host.endIndex
        var portDigits: Range<Int>?
        if host.first == UInt8(ascii: "[") {
            guard let close = host.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            name = host.startIndex + 1..<close
            if close + 1 < host.endIndex {
                guard host[close + 1] == UInt8(ascii: ":") else { return nil }
                portDigits = close + 2..<host.endIndex
            }
        } else if let colon = host.lastIndex(of: UInt8(ascii: ":")) {
            name = host.startIndex..<colon
            portDigits = colon + 1..<host.endIndex
        }
        var port: UInt16?
        if let portDigits {
            // RFC 3986 §3.2.3: port = *DIGIT; here at least one, and at most 65535.
            guard !portDigits.isEmpty else { return nil }
            var value: UInt32 = 0
            for byte in host[portDigits] {
                guard byte &- UInt8(ascii: "0") < 10 else { return nil }
                value = value * 10 + UInt32(byte &- UInt8(ascii: "0"))
                guard value <= UInt32(UInt16.max) else { return nil }
            }
            port = UInt16(value)
        }
        guard !name.isEmpty else { return nil }
        let lowercased = String(unsafeUninitializedCapacity: name.count) { buffer in
            for (i, byte) in host[name].enumerated() { buffer[i] = asciiLowercased(byte) }
            return name.count
        }
        return (lowercased, port)
    }
}
