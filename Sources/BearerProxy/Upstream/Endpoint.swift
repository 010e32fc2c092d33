import BearerTLS

/// Where and how to connect: host, port, and the TLS context (nil for plain TCP).
struct Endpoint: Sendable {
    var host: String
    var port: UInt16
    var tlsContext: TLSContext?

    var description: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return "\(tlsContext == nil ? "http" : "https")://\(bracketed):\(port)"
    }
}
