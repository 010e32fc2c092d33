internal import COpenSSL

/// Filling in and signing a certificate, for `CertificateAuthority`.
extension Certificate {
    /// Version 3, random serial, subject CN, public key, valid from now-1h to now+days.
    func fill(commonName: String, publicKey: PrivateKey, days: Int) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets, unique per CA.
        let random = CryptoPrimitives.randomBytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let serial = random & 0x7FFF_FFFF_FFFF_FFFF | 1
        // The one-hour backdating absorbs clock skew between machines.
        guard X509_set_version(pointer, 2) == 1,
              ASN1_INTEGER_set_uint64(X509_get_serialNumber(pointer), serial) == 1,
              X509_gmtime_adj(X509_getm_notBefore(pointer), -3600) != nil,
              X509_time_adj_ex(X509_getm_notAfter(pointer), Int32(days), 0, nil) != nil,
              X509_NAME_add_entry_by_txt(X509_get_subject_name(pointer), "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1,
              X509_set_pubkey(pointer, publicKey.pointer) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot fill in certificate")
        }
    }

    /// Adds X.509v3 extensions written in OpenSSL's config syntax (x509v3_config(5)).
    func addExtensions(_ extensions: [(nid: Int32, value: String)], issuer: Certificate) throws(TLSError) {
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer.pointer, pointer, nil, nil, 0)
        for (nid, value) in extensions {
            OpenSSLErrorQueue.clear()
            guard let made = X509V3_EXT_nconf_nid(nil, &context, nid, value) else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot make extension \(value)")
            }
            defer { X509_EXTENSION_free(made) }
            guard X509_add_ext(pointer, made, -1) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot add extension \(value)")
            }
        }
    }

    func sign(with key: PrivateKey) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard X509_sign(pointer, key.pointer, EVP_sha256()) > 0 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot sign certificate")
        }
    }
}
