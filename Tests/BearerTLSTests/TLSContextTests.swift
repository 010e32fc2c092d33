import Testing
@testable import BearerTLS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("TLSContext")
struct TLSContextTests {
    @Test("client context trusts a CA loaded from caFile")
    func caFile() throws {
        let fixture = try TLSFixture()
        let path = try TemporaryFile(contents: fixture.authority.certificatePEM)
        let client = try TLSContext.client(TLSClientConfiguration(caFile: path.path))
        let pair = try TLSPair(client: client, server: fixture.server, serverName: "localhost")
        #expect(pair.handshake().client == .done(0))
    }

    @Test("client context with the system trust store rejects a private CA")
    func systemTrustStore() throws {
        let fixture = try TLSFixture()
        let client = try TLSContext.client(TLSClientConfiguration())
        let pair = try TLSPair(client: client, server: fixture.server, serverName: "localhost")
        #expect(pair.handshake().client.error?.kind == .verificationFailed)
    }

    @Test("client context rejects a missing caFile with the OpenSSL reason")
    func missingCAFile() {
        #expect {
            _ = try TLSContext.client(TLSClientConfiguration(caFile: "/nonexistent/ca.pem"))
        } throws: { error in
            let error = error as? TLSError
            return error?.kind == .configuration && error?.reason.contains("/nonexistent/ca.pem") == true
        }
    }

    @Test("client context rejects trusted PEM without a certificate")
    func garbageTrustedPEM() {
        #expect(throws: TLSError.self) {
            _ = try TLSContext.client(TLSClientConfiguration(trustedCertificatesPEM: "not a certificate"))
        }
    }

    @Test("client context rejects a client certificate without a key")
    func clientCertificateWithoutKey() {
        #expect(throws: TLSError(kind: .configuration, reason: "a client certificate needs both a certificate file and a key file")) {
            _ = try TLSContext.client(TLSClientConfiguration(clientCertificateFile: "/tmp/cert.pem"))
        }
    }

    @Test("client context loads a matching client certificate and key")
    func clientCertificate() throws {
        let authority = try CertificateAuthority.generate(commonName: "Test CA")
        let leaf = try authority.issueServerCertificate(dnsNames: ["client.test"], ipAddresses: [])
        let certificate = try TemporaryFile(contents: leaf.certificatePEM)
        let key = try TemporaryFile(contents: leaf.privateKeyPEM)
        _ = try TLSContext.client(TLSClientConfiguration(clientCertificateFile: certificate.path, clientKeyFile: key.path))
    }

    @Test("client context rejects a key that does not match the certificate")
    func mismatchedClientKey() throws {
        let authority = try CertificateAuthority.generate(commonName: "Test CA")
        let one = try authority.issueServerCertificate(dnsNames: ["a.test"], ipAddresses: [])
        let two = try authority.issueServerCertificate(dnsNames: ["b.test"], ipAddresses: [])
        let certificate = try TemporaryFile(contents: one.certificatePEM)
        let key = try TemporaryFile(contents: two.privateKeyPEM)
        #expect {
            _ = try TLSContext.client(TLSClientConfiguration(clientCertificateFile: certificate.path, clientKeyFile: key.path))
        } throws: { error in
            (error as? TLSError)?.reason.contains("values mismatch") == true
        }
    }

    @Test("server context rejects a key that does not match the certificate")
    func mismatchedServerKey() throws {
        let authority = try CertificateAuthority.generate(commonName: "Test CA")
        let one = try authority.issueServerCertificate(dnsNames: ["a.test"], ipAddresses: [])
        let two = try authority.issueServerCertificate(dnsNames: ["b.test"], ipAddresses: [])
        #expect(throws: TLSError.self) {
            _ = try TLSContext.server(certificateChainPEM: one.certificatePEM, privateKeyPEM: two.privateKeyPEM)
        }
    }

    @Test("server context accepts a chain PEM with certificates after the leaf")
    func serverChain() throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.authority.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: [])
        let server = try TLSContext.server(
            certificateChainPEM: leaf.certificatePEM + fixture.authority.certificatePEM,
            privateKeyPEM: leaf.privateKeyPEM)
        let pair = try TLSPair(client: fixture.client, server: server, serverName: "localhost")
        #expect(pair.handshake().client == .done(0))
    }

    @Test("client context rejects an empty ALPN protocol name")
    func emptyALPNName() {
        #expect(throws: TLSError.self) {
            _ = try TLSContext.client(TLSClientConfiguration(alpn: [""]))
        }
    }
}

/// A file under /tmp removed on deinit, for the options that take paths.
final class TemporaryFile {
    let path: String

    init(contents: String) throws {
        var template = Array("/tmp/bearer-tls-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw TLSError(kind: .io, reason: "mkstemp failed") }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let bytes = Array(contents.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    deinit {
        unlink(path)
    }
}
