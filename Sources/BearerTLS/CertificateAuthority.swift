internal import COpenSSL

/// In-memory test/demo PKI: EC P-256 keys, made with OpenSSL. Nothing written to disk.
public struct CertificateAuthority: Sendable {
    public let certificatePEM: String
    /// Kept as PEM so the value stays Sendable; parsed again when issuing.
    let privateKeyPEM: String

    /// A self-signed CA certificate valid from now-1h to now+30 days.
    public static func generate(commonName: String) throws(TLSError) -> CertificateAuthority {
        let key = try PrivateKey.generateP256()
        let certificate = try Certificate()
        try certificate.fill(commonName: commonName, publicKey: key, days: 30)
        let name = X509_get_subject_name(certificate.pointer)
        X509_set_issuer_name(certificate.pointer, name)
        // RFC 5280 §4.2.1.9 / §4.2.1.3: a CA must say so, and may sign certificates.
        try certificate.addExtensions([
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
        ], issuer: certificate)
        try certificate.sign(with: key)
        return CertificateAuthority(certificatePEM: try certificate.pem(), privateKeyPEM: try key.pem())
    }

    /// Leaf certificate signed by this CA with subjectAltName DNS + IP entries,
    /// serverAuth EKU, valid from now-1h to now+days.
    public func issueServerCertificate(dnsNames: [String], ipAddresses: [String], days: Int = 7) throws(TLSError) -> (certificatePEM: String, privateKeyPEM: String) {
        let names = dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
        // The names go into an OpenSSL config string, where commas separate entries.
        guard !names.isEmpty, names.allSatisfy({ !$0.contains(",") && !$0.contains(where: \.isWhitespace) }) else {
            throw TLSError(kind: .configuration, reason: "server certificate needs names without commas or spaces: \(names)")
        }
        let caCertificate = try Certificate.chain(fromPEM: certificatePEM)[0]
        let caKey = try PrivateKey(pem: privateKeyPEM)
        let key = try PrivateKey.generateP256()
        let certificate = try Certificate()
        // RFC 6125 §6.4.4: clients ignore the CN when a SAN is present; it is only a label.
        try certificate.fill(commonName: dnsNames.first ?? ipAddresses[0], publicKey: key, days: days)
        X509_set_issuer_name(certificate.pointer, X509_get_subject_name(caCertificate.pointer))
        try certificate.addExtensions([
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_alt_name, names.joined(separator: ",")),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid"),
        ], issuer: caCertificate)
        try certificate.sign(with: caKey)
        return (try certificate.pem(), try key.pem())
    }
}
