@testable import BearerProxy
import Testing

@Suite("Heads built for each hop")
struct HeadBuildingTests {
    let rules = ForwardingRules(upstreamAuthority: "api.example:8443", basePath: "/v2")

    func response(_ text: String) throws -> ResponseHead {
        let input = Array(text.utf8)
        let parsed = try input.withUnsafeBytes { buffer throws(HTTP1Error) in
            try HeadParser.parseResponseHead(buffer, limits: HTTP1Limits())
        }
        return try #require(parsed).head
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("Connection: keep-alive drops only the hop-by-hop fields; the rest keep their order and bytes")
    func keepAliveResponse() throws {
        let head = try response("HTTP/1.1 200 OK\r\nServer: up\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-A:1\r\nContent-Length: 3\r\n\r\n")
        let built = text(rules.clientHead(for: head, framing: .contentLength, connection: .persistent))
        #expect(built == "HTTP/1.1 200 OK\r\nServer: up\r\nX-A: 1\r\nContent-Length: 3\r\n\r\n")
    }

    @Test("fields a response's Connection names stay on the upstream hop, `close` and extensions alike")
    func nominatedResponseFields() throws {
        let head = try response("HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: secret\r\nClose: 1\r\nx-hop: 2\r\nX-Kept: 3\r\nContent-Length: 0\r\n\r\n")
        let built = text(rules.clientHead(for: head, framing: .contentLength, connection: .close))
        #expect(built == "HTTP/1.1 200 OK\r\nX-Kept: 3\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    @Test("an empty element in Connection nominates nothing")
    func emptyConnectionElement() throws {
        let head = try response("HTTP/1.1 204 No Content\r\nConnection: keep-alive, , \r\nX-Kept: 1\r\n\r\n")
        #expect(text(rules.clientHead(for: head, framing: .none, connection: .persistent)) == "HTTP/1.1 204 No Content\r\nX-Kept: 1\r\n\r\n")
    }

    @Test("a head larger than its estimate is still written whole")
    func estimateTooLow() {
        let piece = String(repeating: "x", count: 1000)
        let bytes = ByteWriter.bytes(capacity: 1) { out in
            for _ in 0..<5 { piece.utf8.withContiguousStorageIfAvailable { out.append(bytes: UnsafeRawBufferPointer($0)) } }
            out.append(UInt8(ascii: "!"))
        }
        #expect(bytes.count == 5001)
        #expect(bytes.last == UInt8(ascii: "!"))
        #expect(bytes.dropLast().allSatisfy { $0 == UInt8(ascii: "x") })
    }

    @Test("decimals", arguments: [UInt64(0), 7, 10, 204, 1_048_576, UInt64.max])
    func decimal(_ value: UInt64) {
        let bytes = ByteWriter.bytes(capacity: 4) { $0.append(decimal: value) }
        #expect(text(bytes) == "\(value)")
        var array: [UInt8] = []
        array.append(decimal: value)
        #expect(text(array) == "\(value)")
    }
}
