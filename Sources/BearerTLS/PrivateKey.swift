internal import COpenSSL

/// An EVP_PKEY private key.
final class PrivateKey {
    let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) {
        self.pointer = pointer
    }

    convenience init(pem: String) throws(TLSError) {
        let bio = try MemoryBIO(contents: pem)
        OpenSSLErrorQueue.clear()
        // A password callback that refuses: with none, OpenSSL would prompt on the terminal for an
        // encrypted key (and block a daemon); encrypted keys are unsupported, so fail instead.
        guard let key = PEM_read_bio_PrivateKey(bio.pointer, nil, { _, _, _, _ in 0 }, nil) else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot read private key PEM")
        }
        self.init(takingOwnershipOf: key)
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// A fresh EC key on P-256 (secp256r1).
    static func generateP256() throws(TLSError) -> PrivateKey {
        OpenSSLLibrary.initialize()
        OpenSSLErrorQueue.clear()
        guard let generator = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot create EC key generator")
        }
        defer { EVP_PKEY_CTX_free(generator) }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(generator) == 1,
              EVP_PKEY_CTX_set_group_name(generator, "P-256") == 1,
              EVP_PKEY_generate(generator, &key) == 1,
              let key else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot generate P-256 key")
        }
        return PrivateKey(takingOwnershipOf: key)
    }

    /// PKCS #8 PEM ("BEGIN PRIVATE KEY"), unencrypted.
    func pem() throws(TLSError) -> String {
        let bio = try MemoryBIO()
        OpenSSLErrorQueue.clear()
        guard PEM_write_bio_PrivateKey(bio.pointer, pointer, nil, nil, 0, nil, nil) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot encode private key")
        }
        return bio.text()
    }
}
