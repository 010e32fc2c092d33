import Testing
@testable import BearerTLS

@Suite("CertificateAuthority")
struct CertificateAuthorityTests {
    @Test("generate makes a PEM CA certificate")
    func generate() throws {
        let authority = try CertificateAuthority.generate(commonName: "Test CA")
        #expect(authority.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(try Certificate.chain(fromPEM: authority.certificatePEM).count == 1)
    }

    @Test("issueServerCertificate returns a certificate and a PKCS 8 key that match")
    func issue() throws {
        let authority = try CertificateAuthority.generate(commonName: "Test CA")
        let leaf = try authority.issueServerCertificate(dnsNames: ["localhost", "proxy.test"], ipAddresses: ["127.0.0.1", "::1"])
        #expect(leaf.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(leaf.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        // The server context checks that key and certificate belong together.
        _ = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
    }

    @Test("issued certificate verifies for its IPv6 address")
    func ipv6() throws {
        let authority = try CertificateAuthority.generate(commonName: "Test CA")
        let leaf = try authority.issueServerCertificate(dnsNames: [], ipAddresses: ["::1"])
        let server = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
        let client = try TLSContext.client(TLSClientConfiguration(trustedCertificatesPEM: authority.certificatePEM))
        let pair = try TLSPair(client: client, server: server, serverName: "[::1]")
        #expect(pair.handshake().client == .done(0))
    }

    @Test("issueServerCertificate rejects a name that would inject another SAN")
    func rejectsComma() throws {
        let authority = try CertificateAuthority.generate(commonName: "Test CA")
        #expect(throws: TLSError.self) {
            _ = try authority.issueServerCertificate(dnsNames: ["a.test,DNS:evil.test"], ipAddresses: [])
        }
    }

    @Test("issueServerCertificate rejects an empty name list")
    func rejectsNoNames() throws {
        let authority = try CertificateAuthority.generate(commonName: "Test CA")
        #expect(throws: TLSError.self) {
            _ = try authority.issueServerCertificate(dnsNames: [], ipAddresses: [])
        }
    }
}
