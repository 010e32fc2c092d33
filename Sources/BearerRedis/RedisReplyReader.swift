internal import CHiredis

/// Turns the bytes a Redis server sends into replies, with hiredis's reader: fed whatever a read
/// returned, it gives each reply once it is complete, however the bytes were split.
///
/// Not thread-safe: one owner, on one queue (the client's loop).
public final class RedisReplyReader {
    public struct ProtocolError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    private let reader: UnsafeMutablePointer<redisReader>
    /// Bytes fed that no reply has taken yet, bounded by `maximumPending`.
    private var pending = 0
    /// The most a reply may take. The cache's values are a few kilobytes; a server that sends more
    /// without ending a reply is not the server we expect (or not a Redis server at all).
    public let maximumPending: Int

    public init(maximumPending: Int = 1 << 20) {
        guard let reader = redisReaderCreate() else { fatalError("hiredis could not allocate a reader (out of memory)") }
        self.reader = reader
        self.maximumPending = maximumPending
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Adds bytes read from the server.
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        pending += bytes.count
        guard pending <= maximumPending else {
            throw ProtocolError(description: "a reply larger than \(maximumPending) bytes")
        }
        guard redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) == REDIS_OK else {
            throw error()
        }
    }

    /// The next complete reply, or nil until more bytes arrive.
    public func next() throws(ProtocolError) -> RedisReply? {
        var object: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &object) == REDIS_OK else { throw error() }
        guard let object else { return nil }
        defer { freeReplyObject(object) }
        // A whole reply came out; what is still pending belongs to the next one.
        pending = reader.pointee.len - reader.pointee.pos
        return Self.copy(object.assumingMemoryBound(to: redisReply.self))
    }

    private func error() -> ProtocolError {
        let text = withUnsafeBytes(of: reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return ProtocolError(description: text.isEmpty ? "protocol error" : text)
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        func bytes() -> [UInt8] {
            guard let str = value.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: value.len))
        }
        switch value.type {
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(value.integer)
        case REDIS_REPLY_STRING: return .bulk(bytes())
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            guard let elements = value.element else { return .array([]) }
            return .array((0..<value.elements).map { index in
                elements[index].map(copy) ?? .null
            })
        default:
            return .error("reply of unknown type \(value.type)")
        }
    }
}
