internal import COpenSSL

extension CertificateAuthority {
    /// A client certificate (clientAuth EKU, RFC 5280 §4.2.1.12) for mutual TLS (RFC 8705),
    /// subject CN `commonName`, signed by this CA.
    public func issueClientCertificate(commonName: String, days: Int = 7) throws(TLSError) -> (certificatePEM: String, privateKeyPEM: String) {
        let caCertificate = try Certificate.chain(fromPEM: certificatePEM)[0]
        let caKey = try PrivateKey(pem: privateKeyPEM)
        let key = try PrivateKey.generateP256()
        let certificate = try Certificate()
        try certificate.fill(commonName: commonName, publicKey: key, days: days)
        X509_set_issuer_name(certificate.pointer, X509_get_subject_name(caCertificate.pointer))
        try certificate.addExtensions([
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "clientAuth"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid"),
        ], issuer: caCertificate)
        try certificate.sign(with: caKey)
        return (try certificate.pem(), try key.pem())
    }
}
