/// The field names the proxy itself acts on: framing, hop-by-hop fields, the credentials and
/// forwarding fields it replaces, and `Host`. The parser recognises them once per field line
/// (RFC 9110 §5.1: names are case-insensitive), so filtering a head and finding its framing or
/// `Connection` fields compares one byte per field instead of every name against every list.
enum KnownField: UInt8, CaseIterable, Sendable {
    case other
    case host
    case contentLength
    case transferEncoding
    case connection
    case keepAlive
    case proxyConnection
    case te
    case trailer
    case upgrade
    case authorization
    case proxyAuthorization
    case dpop
    case xForwardedFor
    case xForwardedProto
    case xForwardedHost
    case proxyAuthenticate
    case proxyAuthenticationInfo

    /// The name in lowercase ASCII.
    var name: StaticString {
        switch self {
        case .other: ""
        case .host: "host"
        case .contentLength: "content-length"
        case .transferEncoding: "transfer-encoding"
        case .connection: "connection"
        case .keepAlive: "keep-alive"
        case .proxyConnection: "proxy-connection"
        case .te: "te"
        case .trailer: "trailer"
        case .upgrade: "upgrade"
        case .authorization: "authorization"
        case .proxyAuthorization: "proxy-authorization"
        case .dpop: "dpop"
        case .xForwardedFor: "x-forwarded-for"
        case .xForwardedProto: "x-forwarded-proto"
        case .xForwardedHost: "x-forwarded-host"
        case .proxyAuthenticate: "proxy-authenticate"
        case .proxyAuthenticationInfo: "proxy-authentication-info"
        }
    }

    /// The known field `bytes[range]` names, in any case; `.other` for every other name.
    /// One length test rejects most names; a name of a known length is compared once.
    static func recognise(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> KnownField {
        guard let base = bytes.baseAddress, !range.isEmpty else { return .other }
        let name = base + range.lowerBound
        @inline(__always) func one(_ a: KnownField) -> KnownField {
            foldedEquals(name, a.name) ? a : .other
        }
        @inline(__always) func either(_ a: KnownField, _ b: KnownField) -> KnownField {
            foldedEquals(name, a.name) ? a : foldedEquals(name, b.name) ? b : .other
        }
        switch range.count {
        case 2: return one(.te)
        case 4: return either(.host, .dpop)
        case 7: return either(.upgrade, .trailer)
        case 10: return either(.connection, .keepAlive)
        case 13: return one(.authorization)
        case 14: return one(.contentLength)
        case 15: return one(.xForwardedFor)
        case 16: return either(.proxyConnection, .xForwardedHost)
        case 17: return either(.transferEncoding, .xForwardedProto)
        case 18: return one(.proxyAuthenticate)
        case 19: return one(.proxyAuthorization)
        case 25: return one(.proxyAuthenticationInfo)
        default: return .other
        }
    }

    /// Whether the `lowercase.utf8CodeUnitCount` bytes at `bytes` spell `lowercase` in any case,
    /// eight bytes at a time. Setting bit 0x20 of a byte lowercases a letter; `lowercase` holds
    /// only lowercase letters and "-", and the only other byte that becomes one of those is CR
    /// (0x0D to "-"), which a field name or value never holds (RFC 9110 §5.5). So this is exact
    /// for the names and list elements it is given.
    @inline(__always)
    private static func foldedEquals(_ bytes: UnsafeRawPointer, _ lowercase: StaticString) -> Bool {
        let count = lowercase.utf8CodeUnitCount
        let literal = UnsafeRawPointer(lowercase.utf8Start)
        if count < 8 {
            for i in 0..<count where bytes.load(fromByteOffset: i, as: UInt8.self) | 0x20 != literal.load(fromByteOffset: i, as: UInt8.self) {
                return false
            }
            return true
        }
        let fold: UInt64 = 0x2020_2020_2020_2020
        var i = 0
        while i + 8 < count {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) | fold != literal.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        // The last eight bytes, overlapping the word before when the length is not a multiple of 8.
        return bytes.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) | fold
            == literal.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
    }
}

/// A set of known fields, one bit each: which a head has, or which a filter drops.
struct KnownFields: Sendable, Equatable {
    private(set) var bits: UInt32 = 0

    init() {}

    init(_ fields: [KnownField]) {
        for field in fields { insert(field) }
    }

    mutating func insert(_ field: KnownField) {
        bits |= 1 << UInt32(field.rawValue)
    }

    /// `.other` is never in a set.
    func contains(_ field: KnownField) -> Bool {
        field != .other && bits & (1 << UInt32(field.rawValue)) != 0
    }
}
