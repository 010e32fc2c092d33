@testable import BearerTLS

/// A CA, a server context whose certificate it signed for "localhost" and
/// 127.0.0.1, and a client context that trusts it.
struct TLSFixture {
    let authority: CertificateAuthority
    let server: TLSContext
    let client: TLSContext

    init(clientALPN: [String] = ["http/1.1"], serverALPN: [String] = ["http/1.1"]) throws {
        authority = try CertificateAuthority.generate(commonName: "Test CA")
        let leaf = try authority.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        server = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM, alpn: serverALPN)
        client = try TLSContext.client(TLSClientConfiguration(trustedCertificatesPEM: authority.certificatePEM, alpn: clientALPN))
    }

    func pair(serverName: String? = "localhost") throws -> TLSPair {
        try TLSPair(client: client, server: server, serverName: serverName)
    }
}
