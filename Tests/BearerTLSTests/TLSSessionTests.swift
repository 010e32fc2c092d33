import Testing
@testable import BearerTLS

@Suite("TLSSession")
struct TLSSessionTests {
    @Test("second connection from the same client context resumes the session")
    func resumption() throws {
        let fixture = try TLSFixture()
        let first = try fixture.pair()
        #expect(first.handshake().client == .done(0))
        #expect(!first.client.sessionReused)
        // RFC 8446 §4.6.1: TLS 1.3 tickets follow the handshake; the client
        // takes them in while reading.
        let reply = Array("ok".utf8)
        #expect(first.transfer(reply, from: first.server, to: first.client).received == reply)
        #expect(fixture.client.mostRecentSession(for: "dns:localhost") != nil)

        let second = try fixture.pair()
        #expect(second.handshake().client == .done(0))
        #expect(second.client.sessionReused)
        #expect(second.server.sessionReused)
    }

    @Test("first connection from a fresh client context does a full handshake")
    func noSessionYet() throws {
        let fixture = try TLSFixture()
        #expect(fixture.client.mostRecentSession(for: "dns:localhost") == nil)
        let pair = try fixture.pair()
        #expect(pair.handshake().client == .done(0))
        #expect(!pair.client.sessionReused)
    }

    @Test("session for one server name is not offered to another")
    func sessionsKeyedByName() throws {
        // RFC 8446 §4.6.1: resume only with the server name of the original session.
        let fixture = try TLSFixture()
        let first = try fixture.pair(serverName: "localhost")
        #expect(first.handshake().client == .done(0))
        let reply = Array("ok".utf8)
        #expect(first.transfer(reply, from: first.server, to: first.client).received == reply)

        let other = try fixture.pair(serverName: "127.0.0.1")
        #expect(other.handshake().client == .done(0))
        #expect(!other.client.sessionReused)
    }
}
