/// Which `Host` values the proxy answers to.
///
/// A web page in a browser on the same machine can send requests to the proxy's loopback port
/// under a name it controls (DNS rebinding) and read the answers, riding on this client's token.
/// Such requests carry that foreign name in `Host`, so only local names and the configured
/// extra names are served; anything else is answered 421 and never forwarded.
struct HostAllowlist: Sendable {
    private let names: Set<String>
    private let port: UInt16

    /// `port` is the port the proxy listens on; a Host that names a port must name this one.
    init(extraNames: [String], port: UInt16) {
        names = Set(["localhost", "127.0.0.1", "::1"] + extraNames.map { $0.lowercased() })
        self.port = port
    }

    /// A host name (lowercased, IPv6 without brackets) that is local or listed, on any port.
    func contains(name: String) -> Bool {
        names.contains(name)
    }

    func allows(_ host: ArraySlice<UInt8>) -> Bool {
        guard let (name, hostPort) = Self.split(host) else { return false }
        return allows(name: name, port: hostPort)
    }

    /// The same for a host already split (`split`).
    func allows(name: String, port hostPort: UInt16?) -> Bool {
        if let hostPort, hostPort != port { return false }
        return names.contains(name)
    }

    /// "name", "name:port", "[v6]" or "[v6]:port" → lowercased name (brackets removed) and port.
    static func split(_ host: ArraySlice<UInt8>) -> (String, UInt16?)? {
        let text = String(decoding: host, as: UTF8.self).lowercased()
        var name = Substring(text)
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            name = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            name = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        var port: UInt16?
        if let portText {
            // RFC 3986 §3.2.3: port = *DIGIT (UInt16("+80") would also take a sign).
            guard !portText.isEmpty, portText.utf8.allSatisfy({ $0 &- 0x30 < 10 }), let value = UInt16(portText) else { return nil }
            port = value
        }
        guard !name.isEmpty else { return nil }
        return (String(name), port)
    }
}
