import BearerRedis
import Testing

@Suite("RESP through hiredis: commands and replies")
struct RedisProtocolTests {
    @Test("a command is an array of bulk strings, binary and empty arguments as they are")
    func encodesCommands() {
        let encoded = RedisCommand.encode([Array("SET".utf8), [0, 13, 10, 255], []])
        #expect(encoded == Array("*3\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n$0\r\n\r\n".utf8))
        #expect(RedisCommand.encode("GET", "a key") == Array("*2\r\n$3\r\nGET\r\n$5\r\na key\r\n".utf8))
    }

    @Test("replies of every kind, fed whole")
    func readsEveryKind() throws {
        let reader = RedisReplyReader()
        let bytes = Array("+OK\r\n-ERR wrong\r\n:42\r\n$3\r\na\0b\r\n$-1\r\n*2\r\n:1\r\n$0\r\n\r\n*-1\r\n".utf8)
        try bytes.withUnsafeBytes { try reader.feed($0) }
        var replies: [RedisReply] = []
        while let reply = try reader.next() { replies.append(reply) }
        #expect(replies == [.status("OK"), .error("ERR wrong"), .integer(42), .bulk([97, 0, 98]), .null,
                            .array([.integer(1), .bulk([])]), .null])
        #expect(replies[0].isOK && !replies[1].isOK)
    }

    @Test("a reply split at every index comes out once, whole")
    func readsSplitReplies() throws {
        let bytes = Array("*3\r\n$5\r\nhello\r\n:-7\r\n+PONG\r\n".utf8)
        for split in 0...bytes.count {
            let reader = RedisReplyReader()
            try bytes[..<split].withUnsafeBytes { try reader.feed($0) }
            let early = try reader.next()
            try bytes[split...].withUnsafeBytes { try reader.feed($0) }
            let reply = try early ?? reader.next()
            #expect(reply == .array([.bulk(Array("hello".utf8)), .integer(-7), .status("PONG")]), "split at \(split)")
            #expect(try reader.next() == nil)
        }
    }

    @Test("bytes that are not RESP are a protocol error, not a reply")
    func rejectsGarbage() throws {
        let reader = RedisReplyReader()
        try Array("HTTP/1.1 400 Bad Request\r\n".utf8).withUnsafeBytes { try reader.feed($0) }
        #expect(throws: RedisReplyReader.ProtocolError.self) { try reader.next() }
    }

    @Test("a reply that grows past the limit is refused while it is still arriving")
    func boundsPendingBytes() throws {
        let reader = RedisReplyReader(maximumPending: 64)
        try Array("$100\r\n".utf8).withUnsafeBytes { try reader.feed($0) }
        #expect(try reader.next() == nil)
        #expect(throws: RedisReplyReader.ProtocolError.self) {
            try [UInt8](repeating: 65, count: 100).withUnsafeBytes { try reader.feed($0) }
        }
    }

    @Test("description shows a bulk value's size, never its bytes")
    func describesWithoutValues() {
        #expect(RedisReply.bulk(Array("secret-token".utf8)).description == "bulk(12 bytes)")
    }
}
