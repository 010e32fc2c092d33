import Testing
@testable import BearerTLS

@Suite("ALPNProtocols")
struct ALPNProtocolsTests {
    @Test("wireFormat prefixes each name with its length")
    func wireFormat() throws {
        // RFC 7301 §3.1: ProtocolName<1..2^8-1> in a list.
        #expect(try ALPNProtocols.wireFormat(["h2", "http/1.1"]) == [2] + Array("h2".utf8) + [8] + Array("http/1.1".utf8))
        #expect(try ALPNProtocols.wireFormat([]) == [])
    }

    @Test("wireFormat rejects empty and over-long names")
    func rejects() {
        #expect(throws: TLSError.self) { _ = try ALPNProtocols.wireFormat([""]) }
        #expect(throws: TLSError.self) { _ = try ALPNProtocols.wireFormat([String(repeating: "x", count: 256)]) }
    }
}
