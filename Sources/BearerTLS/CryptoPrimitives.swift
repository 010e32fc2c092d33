internal import COpenSSL

/// Small helpers later code needs (JWT signing per RFC 7518 §3.2, random ids).
public enum CryptoPrimitives {
    /// Bytes from OpenSSL's CSPRNG.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        OpenSSLLibrary.initialize()
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        let status = bytes.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32($0.count)) }
        // A seeded OpenSSL 3 DRBG does not fail; if it ever does, predictable
        // "random" bytes would be worse than stopping.
        precondition(status == 1, "RAND_bytes failed")
        return bytes
    }

    /// HMAC-SHA-256 (RFC 2104, RFC 4231).
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        OpenSSLLibrary.initialize()
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // A non-null pointer even for empty inputs, which OpenSSL handles by length.
        let keyBytes = key.isEmpty ? [0] : key
        let dataBytes = data.isEmpty ? [0] : data
        let result = keyBytes.withUnsafeBytes { keyBuffer in
            dataBytes.withUnsafeBytes { dataBuffer in
                HMAC(EVP_sha256(), keyBuffer.baseAddress, Int32(key.count),
                     dataBuffer.bindMemory(to: UInt8.self).baseAddress, data.count,
                     &mac, &length)
            }
        }
        precondition(result != nil, "HMAC-SHA-256 failed")
        return Array(mac.prefix(Int(length)))
    }

    /// SHA-256 (FIPS 180-4).
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        OpenSSLLibrary.initialize()
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let dataBytes = data.isEmpty ? [0] : data
        let status = dataBytes.withUnsafeBytes {
            EVP_Digest($0.baseAddress, data.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(status == 1, "SHA-256 failed")
        return Array(digest.prefix(Int(length)))
    }
}
