internal import COpenSSL

/// A private key that signs JWS (RFC 7515) payloads: RSA (RS256, PS256) or EC P-256 (ES256).
///
/// Immutable after `init`, so it may be shared across threads: OpenSSL 3 allows concurrent
/// signing with one `EVP_PKEY` as long as nobody changes it.
public final class JWSSigningKey: @unchecked Sendable {  // no lock: immutable after init; OpenSSL 3 signs concurrently with one EVP_PKEY
    /// What kind of key it is, which decides the algorithms it can sign with.
    public enum KeyType: String, Sendable, Equatable {
        case rsa = "RSA"
        case ecP256 = "EC P-256"
    }

    public let keyType: KeyType
    let key: PrivateKey

    /// Reads an unencrypted PEM private key (PKCS #8, PKCS #1 or SEC 1). Other curves and key types
    /// are refused: RFC 7518 defines no other algorithm we sign with.
    public convenience init(pem: String) throws(TLSError) {
        try self.init(key: PrivateKey(pem: pem))
    }

    init(key: PrivateKey) throws(TLSError) {
        if EVP_PKEY_is_a(key.pointer, "RSA") == 1 {
            // RFC 7518 §3.3: a key of size 2048 bits or larger MUST be used with these algorithms.
            guard EVP_PKEY_get_bits(key.pointer) >= 2048 else {
                throw TLSError(kind: .configuration, reason: "RSA key has \(EVP_PKEY_get_bits(key.pointer)) bits; RFC 7518 §3.3 requires at least 2048")
            }
            keyType = .rsa
        } else if EVP_PKEY_is_a(key.pointer, "EC") == 1, Self.groupName(key) == "prime256v1" {
            keyType = .ecP256
        } else {
            throw TLSError(kind: .configuration, reason: "private key is neither RSA nor EC P-256")
        }
        self.key = key
    }

    /// A fresh key, for tests and demos.
    public static func generate(_ type: KeyType) throws(TLSError) -> JWSSigningKey {
        OpenSSLLibrary.initialize()
        switch type {
        case .ecP256:
            return try JWSSigningKey(key: PrivateKey.generateP256())
        case .rsa:
            OpenSSLErrorQueue.clear()
            guard let generator = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot create RSA key generator")
            }
            defer { EVP_PKEY_CTX_free(generator) }
            var made: OpaquePointer? = nil
            guard EVP_PKEY_keygen_init(generator) == 1,
                  EVP_PKEY_CTX_set_rsa_keygen_bits(generator, 2048) == 1,
                  EVP_PKEY_generate(generator, &made) == 1, let made else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot generate RSA key")
            }
            return try JWSSigningKey(key: PrivateKey(takingOwnershipOf: made))
        }
    }

    /// The algorithm used when the configuration names none.
    public var defaultAlgorithm: JWSAlgorithm { keyType == .rsa ? .rs256 : .es256 }

    public func supports(_ algorithm: JWSAlgorithm) -> Bool {
        switch algorithm {
        case .rs256, .ps256: return keyType == .rsa
        case .es256: return keyType == .ecP256
        }
    }

    /// PKCS #8 PEM of the private key.
    public func privateKeyPEM() throws(TLSError) -> String { try key.pem() }

    /// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), for whoever verifies.
    public func publicKeyPEM() throws(TLSError) -> String {
        let bio = try MemoryBIO()
        OpenSSLErrorQueue.clear()
        guard PEM_write_bio_PUBKEY(bio.pointer, key.pointer) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot encode public key")
        }
        return bio.text()
    }

    /// The JWS signature of `input` (the ASCII of `header.payload`), in the form RFC 7518 puts
    /// in the third JWS part (before base64url).
    public func sign(_ input: [UInt8], algorithm: JWSAlgorithm) throws(TLSError) -> [UInt8] {
        // One signature: a signer made for it (a caller that signs often keeps its `JWSSigner`).
        try JWSSigner(key: self, algorithm: algorithm).sign(input)
    }

    private static func groupName(_ key: PrivateKey) -> String? {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(key.pointer, &name, name.count, &length) == 1 else { return nil }
        return String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
