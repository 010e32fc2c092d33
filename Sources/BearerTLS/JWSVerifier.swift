internal import COpenSSL

/// Checks JWS signatures with a public key: what an authorization server does with a
/// `private_key_jwt` client assertion. Used by tests and the demo; immutable, so Sendable.
public final class JWSVerifier: @unchecked Sendable {  // no lock: the key is immutable after init
    private let key: PrivateKey

    /// A SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY").
    public init(publicKeyPEM: String) throws(TLSError) {
        OpenSSLLibrary.initialize()
        let bio = try MemoryBIO(contents: publicKeyPEM)
        OpenSSLErrorQueue.clear()
        guard let key = PEM_read_bio_PUBKEY(bio.pointer, nil, nil, nil) else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot read public key PEM")
        }
        // PrivateKey only wraps the EVP_PKEY; a public-only key is fine for verifying.
        self.key = PrivateKey(takingOwnershipOf: key)
    }

    public func verify(_ signature: [UInt8], of input: [UInt8], algorithm: JWSAlgorithm) -> Bool {
        let der: [UInt8]
        if algorithm == .es256 {
            guard let converted = try? ECDSASignature.derForm(fromJOSE: signature) else { return false }
            der = converted
        } else {
            der = signature
        }
        guard let context = try? DigestContext() else { return false }
        OpenSSLErrorQueue.clear()
        defer { OpenSSLErrorQueue.clear() }
        var keyContext: OpaquePointer? = nil
        guard EVP_DigestVerifyInit(context.pointer, &keyContext, EVP_sha256(), nil, key.pointer) == 1 else { return false }
        if algorithm == .ps256 {
            guard (try? Self.configurePSS(keyContext)) != nil else { return false }
        } else if algorithm == .rs256, EVP_PKEY_is_a(key.pointer, "RSA") != 1 {
            return false
        }
        let data = input.isEmpty ? [0] : input
        return der.withUnsafeBufferPointer { sig in
            data.withUnsafeBufferPointer { bytes in
                EVP_DigestVerify(context.pointer, sig.baseAddress, sig.count, bytes.baseAddress, input.count) == 1
            }
        }
    }

    /// RFC 7518 §3.5: PSS padding, MGF1 with SHA-256, salt as long as the hash (32 bytes).
    static func configurePSS(_ keyContext: OpaquePointer?) throws(TLSError) {
        guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
              EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, 32) == 1,
              EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, EVP_sha256()) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot configure RSA-PSS")
        }
    }
}
