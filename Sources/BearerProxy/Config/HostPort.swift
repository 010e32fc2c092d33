#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A listening address: `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`, `0.0.0.0:80`.
///
/// Port 0 is allowed so tests can bind an ephemeral port.
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    /// Host name or IP address; IPv6 without brackets.
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with IPv6 addresses in brackets so the text parses back.
    public var description: String {
        "\(HostPort.bracketed(host)):\(port)"
    }

    /// True for `localhost` and the loopback ranges 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || (HostPort.isIPv4(host) && host.hasPrefix("127."))
    }

    static func parse(_ text: String) throws(InvalidValue) -> HostPort {
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw InvalidValue("\"\(text)\" is missing \"]\" after the IPv6 address")
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw InvalidValue("\"\(text)\" has no port; write e.g. [::1]:8080")
            }
            guard isIPv6(host) else {
                throw InvalidValue("\"\(host)\" is not an IPv6 address")
            }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw InvalidValue("\"\(text)\" has no port; write host:port, e.g. 127.0.0.1:8080")
            }
            host = String(text[..<colon])
            guard !host.contains(":") else {
                throw InvalidValue("\"\(text)\": put an IPv6 address in brackets, e.g. [::1]:8080")
            }
            guard !host.isEmpty else {
                throw InvalidValue("\"\(text)\" has no host; use 127.0.0.1 for loopback or 0.0.0.0 for all addresses")
            }
            guard isValidHostName(host) else {
                throw InvalidValue("\"\(host)\" is not a valid host name or IPv4 address")
            }
            portText = text[text.index(after: colon)...]
        }
        guard let port = parsePort(portText) else {
            throw InvalidValue("port \"\(portText)\" must be a number from 0 to 65535")
        }
        return HostPort(host: host, port: port)
    }

    // MARK: Helpers shared with EndpointURL

    static func bracketed(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }

    /// Decimal digits only, 0...65535.
    static func parsePort(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt16(text)
    }

    /// A DNS name (letters, digits, `-`, `_`, dot-separated non-empty labels) or a
    /// dotted-quad IPv4 address. Anything made only of digits and dots must be a valid IPv4
    /// address, so `999.1.1.1` and `1.2.3` are rejected rather than resolved as names.
    static func isValidHostName(_ host: String) -> Bool {
        guard !host.isEmpty, host.count <= 253 else { return false }
        if host.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) }) {
            return isIPv4(host)
        }
        let allowed = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return allowed && labels.allSatisfy { !$0.isEmpty && $0.count <= 63 }
    }

    static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }
}
