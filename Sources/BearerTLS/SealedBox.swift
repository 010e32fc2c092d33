internal import COpenSSL

/// Authenticated encryption with AES-256-GCM (NIST SP 800-38D): a value sealed with a 32-byte key
/// can be read back only with that key and the same associated data, and any change to it, its
/// nonce, its tag or the associated data is detected. The sealed form is nonce (12 bytes, random)
/// ‖ ciphertext ‖ tag (16 bytes).
public enum SealedBox {
    public static let keySize = 32
    static let nonceSize = 12
    static let tagSize = 16

    /// Seals `plaintext` under `key` (32 bytes), binding it to `associatedData`.
    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) throws(TLSError) -> [UInt8] {
        try seal(plaintext, key: key, associatedData: associatedData, nonce: CryptoPrimitives.randomBytes(nonceSize))
    }

    /// With a given nonce: for known-answer tests only. A nonce must never repeat under one key.
    static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8], nonce: [UInt8]) throws(TLSError) -> [UInt8] {
        try checkKey(key)
        let context = try CipherContext()
        OpenSSLErrorQueue.clear()
        guard EVP_EncryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceSize), nil) == 1,
              EVP_EncryptInit_ex(context.pointer, nil, nil, key, nonce) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot start AES-256-GCM encryption")
        }
        var length: Int32 = 0
        if !associatedData.isEmpty {
            guard EVP_EncryptUpdate(context.pointer, nil, &length, associatedData, Int32(associatedData.count)) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "AES-256-GCM associated data failed")
            }
        }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var written: Int32 = 0
        if !plaintext.isEmpty {
            guard EVP_EncryptUpdate(context.pointer, &ciphertext, &written, plaintext, Int32(plaintext.count)) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "AES-256-GCM encryption failed")
            }
        }
        var final: Int32 = 0
        let finished = ciphertext.withUnsafeMutableBufferPointer { buffer in
            EVP_EncryptFinal_ex(context.pointer, buffer.baseAddress! + Int(written), &final)
        }
        var tag = [UInt8](repeating: 0, count: tagSize)
        guard finished == 1, EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), &tag) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "AES-256-GCM encryption failed")
        }
        return nonce + ciphertext[0..<Int(written + final)] + tag
    }

    /// The plaintext, or nil when `sealed` was not sealed under `key` with `associatedData`, or was
    /// changed since (a wrong key, a forged or truncated value: all look the same, on purpose).
    public static func open(_ sealed: [UInt8], key: [UInt8], associatedData: [UInt8]) throws(TLSError) -> [UInt8]? {
        try checkKey(key)
        guard sealed.count >= nonceSize + tagSize else { return nil }
        let nonce = Array(sealed[0..<nonceSize])
        let ciphertext = Array(sealed[nonceSize..<(sealed.count - tagSize)])
        var tag = Array(sealed[(sealed.count - tagSize)...])
        let context = try CipherContext()
        OpenSSLErrorQueue.clear()
        guard EVP_DecryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceSize), nil) == 1,
              EVP_DecryptInit_ex(context.pointer, nil, nil, key, nonce) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot start AES-256-GCM decryption")
        }
        var length: Int32 = 0
        if !associatedData.isEmpty {
            guard EVP_DecryptUpdate(context.pointer, nil, &length, associatedData, Int32(associatedData.count)) == 1 else { return nil }
        }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        if !ciphertext.isEmpty {
            guard EVP_DecryptUpdate(context.pointer, &plaintext, &written, ciphertext, Int32(ciphertext.count)) == 1 else { return nil }
        }
        guard EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), &tag) == 1 else { return nil }
        var final: Int32 = 0
        let verified = plaintext.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(context.pointer, buffer.baseAddress! + Int(written), &final)
        }
        OpenSSLErrorQueue.clear()  // a failed tag check queues nothing worth keeping
        guard verified == 1 else { return nil }
        return Array(plaintext[0..<Int(written + final)])
    }

    private static func checkKey(_ key: [UInt8]) throws(TLSError) {
        guard key.count == keySize else {
            throw TLSError(kind: .configuration, reason: "AES-256-GCM needs a \(keySize)-byte key, got \(key.count) bytes")
        }
    }
}

/// An EVP_CIPHER_CTX, freed in `deinit`.
final class CipherContext {
    let pointer: OpaquePointer

    init() throws(TLSError) {
        OpenSSLLibrary.initialize()
        OpenSSLErrorQueue.clear()
        guard let pointer = EVP_CIPHER_CTX_new() else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot allocate cipher context")
        }
        self.pointer = pointer
    }

    deinit {
        EVP_CIPHER_CTX_free(pointer)
    }
}
