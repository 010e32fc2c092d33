import Testing
@testable import BearerTLS

@Suite("TLSConnection")
struct TLSConnectionTests {
    @Test("handshake succeeds with trusted CA and matching DNS name")
    func handshakeDNSName() throws {
        let pair = try TLSFixture().pair(serverName: "localhost")
        let result = pair.handshake()
        #expect(result.client == .done(0))
        #expect(result.server == .done(0))
        #expect(pair.client.isHandshakeComplete)
        #expect(pair.server.isHandshakeComplete)
        #expect(pair.client.protocolVersion == "TLSv1.3")
    }

    @Test("handshake succeeds with trusted CA and matching IP address")
    func handshakeIPAddress() throws {
        let pair = try TLSFixture().pair(serverName: "127.0.0.1")
        let result = pair.handshake()
        #expect(result.client == .done(0))
        #expect(result.server == .done(0))
    }

    @Test("handshake accepts a host name with a trailing dot")
    func handshakeTrailingDot() throws {
        let pair = try TLSFixture().pair(serverName: "localhost.")
        #expect(pair.handshake().client == .done(0))
    }

    @Test("handshake reports wantRead while the peer has not answered")
    func handshakeWantsRead() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.server.handshake() == .wantRead)  // no ClientHello yet
        #expect(pair.client.handshake() == .wantRead)  // ClientHello sent, waiting for ServerHello
        #expect(!pair.client.isHandshakeComplete)
        #expect(pair.handshake().client == .done(0))
        #expect(pair.client.handshake() == .done(0))  // repeated calls stay done
    }

    @Test("handshake negotiates ALPN http/1.1 on both sides")
    func alpnNegotiated() throws {
        let pair = try TLSFixture(clientALPN: ["h2", "http/1.1"]).pair()
        _ = pair.handshake()
        #expect(pair.client.negotiatedALPN == "http/1.1")
        #expect(pair.server.negotiatedALPN == "http/1.1")
    }

    @Test("handshake fails when client and server share no ALPN protocol")
    func alpnNoOverlap() throws {
        // RFC 7301 §3.2: the server answers with no_application_protocol.
        let pair = try TLSFixture(clientALPN: ["h2"]).pair()
        let result = pair.handshake()
        #expect(result.client == .failed(TLSError(kind: .handshakeFailed, reason: "tlsv1 alert no application protocol")))
    }

    @Test("handshake without ALPN offers none and negotiates none")
    func alpnNone() throws {
        let pair = try TLSFixture(clientALPN: []).pair()
        #expect(pair.handshake().client == .done(0))
        #expect(pair.client.negotiatedALPN == nil)
    }

    @Test("data round trips in both directions")
    func roundTrip() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.handshake().client == .done(0))
        let request = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        let response = Array("HTTP/1.1 204 No Content\r\n\r\n".utf8)
        #expect(pair.transfer(request, from: pair.client, to: pair.server).received == request)
        #expect(pair.transfer(response, from: pair.server, to: pair.client).received == response)
    }

    @Test("1 MiB payload arrives intact through partial writes and want-write")
    func largePayload() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.handshake().client == .done(0))
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let upstream = pair.transfer(payload, from: pair.client, to: pair.server)
        #expect(upstream.failure == nil)
        #expect(upstream.received == payload)
        #expect(upstream.partialWrites > 0)
        #expect(upstream.wantWrites > 0)
        let downstream = pair.transfer(payload, from: pair.server, to: pair.client)
        #expect(downstream.received == payload)
    }

    // An edge-triggered loop stops reading when isDrained says so; a wrong "drained" loses data.
    @Test("isDrained: true after a read that emptied the socket, false while the socket or OpenSSL still holds input")
    func drained() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.handshake().client == .done(0))
        // Let the client take the server's post-handshake messages (session tickets) first.
        _ = pair.readOutcome(pair.client)
        let small = Array("HTTP/1.1 204 No Content\r\n\r\n".utf8)
        _ = small.withUnsafeBytes { pair.server.write($0) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        #expect(buffer.withUnsafeMutableBytes { pair.client.read(into: $0) } == .done(small.count))
        #expect(pair.client.isDrained)

        // Far more than one read-ahead buffer: after the first read, the socket still holds more.
        let large = [UInt8](repeating: 7, count: 150_000)
        var written = 0
        while written < large.count, case .done(let n) = large[written...].withUnsafeBytes({ pair.server.write($0) }) {
            written += n
        }
        guard case .done(let first) = buffer.withUnsafeMutableBytes({ pair.client.read(into: $0) }) else {
            Issue.record("no data")
            return
        }
        #expect(first > 0)
        #expect(!pair.client.isDrained)
        var total = first
        while case .done(let n) = buffer.withUnsafeMutableBytes({ pair.client.read(into: $0) }) { total += n }
        #expect(total == written)
        #expect(pair.client.isDrained)
    }

    // Found in review: "drained" was left over from an earlier socket read, so a record served
    // from OpenSSL's buffer claimed the socket was empty while new bytes waited in it.
    @Test("isDrained is false after a read served from OpenSSL's buffer alone, while the socket holds more")
    func drainedSpeaksOfThisRead() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.handshake().client == .done(0))
        _ = pair.readOutcome(pair.client)  // session tickets
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // Five records in the socket; the first read takes them all (read-ahead) and returns one.
        for i in 0..<5 { _ = Array("record \(i)".utf8).withUnsafeBytes { pair.server.write($0) } }
        #expect(buffer.withUnsafeMutableBytes { pair.client.read(into: $0) } == .done(8))
        // More arrives in the socket while four records wait in OpenSSL.
        _ = Array("late".utf8).withUnsafeBytes { pair.server.write($0) }
        for _ in 0..<4 {
            #expect(buffer.withUnsafeMutableBytes { pair.client.read(into: $0) } == .done(8))
        }
        #expect(!pair.client.isDrained, "the late record is still in the socket")
        #expect(buffer.withUnsafeMutableBytes { pair.client.read(into: $0) } == .done(4))
    }

    @Test("read reports closed after the peer's close_notify")
    func closeNotify() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.handshake().client == .done(0))
        #expect(pair.client.shutdown() == .done(0))
        #expect(pair.readOutcome(pair.server) == .closed)
        // Answering the peer's close_notify with ours is still allowed.
        #expect(pair.server.shutdown() == .done(0))
    }

    @Test("read reports closed when TCP ends without close_notify")
    func unexpectedEOF() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.handshake().client == .done(0))
        // The client reads what the server sent (TLS 1.3 tickets included):
        // closing a Unix socket with unread input makes the peer see ECONNRESET.
        let greeting = Array("hello".utf8)
        #expect(pair.transfer(greeting, from: pair.server, to: pair.client).received == greeting)
        pair.sockets.closeClient()
        #expect(pair.readOutcome(pair.server) == .closed)
        // After an unclean end there is nothing left to send.
        #expect(pair.server.shutdown() == .done(0))
    }

    @Test("read reports an io failure when the peer resets with unread data")
    func reset() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.handshake().client == .done(0))
        // The client never read the server's TLS 1.3 tickets, so closing
        // resets the connection (ECONNRESET), which is not a clean end.
        pair.sockets.closeClient()
        #expect(pair.readOutcome(pair.server) == .failed(TLSError(kind: .io, reason: "Connection reset by peer")))
    }

    @Test("shutdown before the handshake sends nothing and succeeds")
    func shutdownBeforeHandshake() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.client.shutdown() == .done(0))
        #expect(!pair.client.isHandshakeComplete)
    }

    @Test("handshake fails verification when the server's CA is not trusted")
    func untrustedCA() throws {
        let trusted = try TLSFixture()
        let other = try TLSFixture()
        let pair = try TLSPair(client: trusted.client, server: other.server, serverName: "localhost")
        let result = pair.handshake()
        // The server sends only its leaf, so the chain stops at an unknown issuer.
        #expect(result.client == .failed(TLSError(kind: .verificationFailed, reason: "certificate verify failed: unable to get local issuer certificate")))
        #expect(result.server == .failed(TLSError(kind: .handshakeFailed, reason: "tlsv1 alert unknown ca")))
    }

    @Test("handshake fails verification for a self-signed server certificate")
    func selfSigned() throws {
        let fixture = try TLSFixture()
        let stranger = try CertificateAuthority.generate(commonName: "localhost")
        let server = try TLSContext.server(certificateChainPEM: stranger.certificatePEM, privateKeyPEM: stranger.privateKeyPEM)
        let pair = try TLSPair(client: fixture.client, server: server, serverName: "localhost")
        #expect(pair.handshake().client == .failed(TLSError(kind: .verificationFailed, reason: "certificate verify failed: self-signed certificate")))
    }

    @Test("handshake fails verification when the host name does not match")
    func hostnameMismatch() throws {
        let pair = try TLSFixture().pair(serverName: "example.com")
        #expect(pair.handshake().client == .failed(TLSError(kind: .verificationFailed, reason: "certificate verify failed: hostname mismatch")))
    }

    @Test("handshake keeps failing after a verification failure and shutdown sends nothing")
    func failureIsFinal() throws {
        let pair = try TLSFixture().pair(serverName: "example.com")
        #expect(pair.handshake().client.error?.kind == .verificationFailed)
        #expect(pair.client.handshake().error?.kind == .handshakeFailed)
        #expect(pair.client.shutdown() == .done(0))
    }

    @Test("handshake fails verification when the IP address does not match")
    func ipMismatch() throws {
        let pair = try TLSFixture().pair(serverName: "127.0.0.2")
        #expect(pair.handshake().client == .failed(TLSError(kind: .verificationFailed, reason: "certificate verify failed: IP address mismatch")))
    }

    @Test("handshake does not match a DNS name given as an IP SAN or vice versa")
    func ipNotMatchedAsDNS() throws {
        let authority = try CertificateAuthority.generate(commonName: "Test CA")
        let leaf = try authority.issueServerCertificate(dnsNames: ["127.0.0.1.example"], ipAddresses: ["10.0.0.1"])
        let server = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
        let client = try TLSContext.client(TLSClientConfiguration(trustedCertificatesPEM: authority.certificatePEM))
        let pair = try TLSPair(client: client, server: server, serverName: "127.0.0.1")
        #expect(pair.handshake().client.error?.kind == .verificationFailed)
    }

    @Test("handshake with verifyPeer false accepts an untrusted certificate and wrong name")
    func verifyPeerDisabled() throws {
        let other = try TLSFixture()
        let client = try TLSContext.client(TLSClientConfiguration(verifyPeer: false))
        let pair = try TLSPair(client: client, server: other.server, serverName: "example.com")
        #expect(pair.handshake().client == .done(0))
    }

    @Test("handshake fails against a server that only speaks TLS 1.1")
    func legacyServerRejected() throws {
        // RFC 8996: TLS 1.1 is deprecated; clients require 1.2 or later.
        let fixture = try TLSFixture()
        let leaf = try fixture.authority.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: [])
        let tls11: Int32 = 0x0302  // TLS1_1_VERSION
        let server = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM, alpn: ["http/1.1"], legacyVersion: tls11)
        let pair = try TLSPair(client: fixture.client, server: server, serverName: "localhost")
        let result = pair.handshake()
        // The server finds no common version and says so with an alert.
        #expect(result.client == .failed(TLSError(kind: .handshakeFailed, reason: "tlsv1 alert protocol version")))
        #expect(result.server == .failed(TLSError(kind: .handshakeFailed, reason: "unsupported protocol")))
    }

    @Test("client connection without a server name is refused while verifying")
    func missingServerName() throws {
        let fixture = try TLSFixture()
        let sockets = SocketPair()
        #expect(throws: TLSError.self) {
            _ = try TLSConnection(context: fixture.client, fileDescriptor: sockets.client, serverName: nil)
        }
    }

    @Test("server connection ignores the server name")
    func serverIgnoresServerName() throws {
        let fixture = try TLSFixture()
        let sockets = SocketPair()
        let server = try TLSConnection(context: fixture.server, fileDescriptor: sockets.server, serverName: "")
        #expect(server.handshake() == .wantRead)
    }

    @Test("read reports wantRead when no application data is pending")
    func readWouldBlock() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.handshake().client == .done(0))
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeMutableBytes { pair.server.read(into: $0) } == .wantRead)
    }

    @Test("empty reads and writes complete without touching the socket")
    func emptyBuffers() throws {
        let pair = try TLSFixture().pair()
        #expect(pair.handshake().client == .done(0))
        #expect(pair.client.write(UnsafeRawBufferPointer(start: nil, count: 0)) == .done(0))
        #expect(pair.client.read(into: UnsafeMutableRawBufferPointer(start: nil, count: 0)) == .done(0))
    }
}
