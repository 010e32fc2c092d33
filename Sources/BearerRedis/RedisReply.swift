/// One reply from a Redis server (RESP2), copied out of hiredis's reply object.
public enum RedisReply: Sendable, Equatable, CustomStringConvertible {
    /// `+OK`
    case status(String)
    /// `-ERR ...`: the server refused the command.
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case array([RedisReply])
    /// The null bulk string (`$-1`, GET's "no such key") or null array (`*-1`, EXEC's "aborted").
    case null

    /// Shows the kind and size of a bulk value, never its bytes: a value may be a sealed token.
    public var description: String {
        switch self {
        case .status(let text): return "+\(text)"
        case .error(let text): return "-\(text)"
        case .integer(let value): return ":\(value)"
        case .bulk(let bytes): return "bulk(\(bytes.count) bytes)"
        case .array(let items): return "[\(items.map(\.description).joined(separator: ", "))]"
        case .null: return "nil"
        }
    }

    /// Whether this is the `+OK` status.
    public var isOK: Bool {
        if case .status(let text) = self { return text == "OK" }
        return false
    }
}
