/// The ALPN protocol list in its wire format (RFC 7301 §3.1): each name as
/// one length byte followed by the name, names 1...255 bytes long.
enum ALPNProtocols {
    static func wireFormat(_ protocols: [String]) throws(TLSError) -> [UInt8] {
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw TLSError(kind: .configuration, reason: "ALPN protocol name must be 1 to 255 bytes: \"\(name)\"")
            }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes)
        }
        return wire
    }
}
