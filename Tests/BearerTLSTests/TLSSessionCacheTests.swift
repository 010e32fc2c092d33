import Testing
@testable import BearerTLS

@Suite("TLSSessionCache")
struct TLSSessionCacheTests {
    /// A real SSL_SESSION, since TLSSession frees one on deinit.
    private func makeSession() throws -> TLSSession {
        let fixture = try TLSFixture()
        let pair = try fixture.pair()
        _ = pair.handshake()
        let reply = Array("ok".utf8)
        _ = pair.transfer(reply, from: pair.server, to: pair.client)
        return try #require(fixture.client.mostRecentSession(for: "dns:localhost"))
    }

    @Test("store replaces the session for the same name")
    func replaces() throws {
        var cache = TLSSessionCache()
        let one = try makeSession()
        let two = try makeSession()
        #expect(cache.store(one, for: "dns:a").isEmpty)
        let dropped = cache.store(two, for: "dns:a")
        #expect(dropped.count == 1 && dropped[0] === one)
        #expect(cache.session(for: "dns:a") === two)
        #expect(cache.session(for: "dns:b") == nil)
    }

    @Test("store evicts the oldest name beyond capacity")
    func evicts() throws {
        var cache = TLSSessionCache()
        let session = try makeSession()
        for index in 0..<TLSSessionCache.capacity {
            _ = cache.store(session, for: "dns:\(index)")
        }
        #expect(cache.store(session, for: "dns:new").count == 1)
        #expect(cache.count == TLSSessionCache.capacity)
        #expect(cache.session(for: "dns:0") == nil)
        #expect(cache.session(for: "dns:1") != nil)
    }
}
