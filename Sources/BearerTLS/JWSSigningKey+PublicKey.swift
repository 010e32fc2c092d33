internal import COpenSSL

extension JWSSigningKey {
    /// The numbers of the public key, as a JWK carries them (RFC 7518 §6): unsigned big-endian.
    public enum PublicParameters: Sendable, Equatable {
        /// P-256 point coordinates, 32 bytes each (RFC 7518 §6.2.1.2: the full length).
        case ec(x: [UInt8], y: [UInt8])
        /// Modulus and public exponent, without leading zero bytes (RFC 7518 §6.3.1).
        case rsa(n: [UInt8], e: [UInt8])
    }

    /// For a public JWK, such as the `jwk` header of a DPoP proof (RFC 9449 §4.2).
    public func publicParameters() throws(TLSError) -> PublicParameters {
        switch keyType {
        case .ecP256:
            return .ec(x: try parameter("qx", width: 32), y: try parameter("qy", width: 32))
        case .rsa:
            return .rsa(n: try parameter("n", width: nil), e: try parameter("e", width: nil))
        }
    }

    /// One big-number parameter of the key (OpenSSL 3 names: "qx", "qy", "n", "e").
    private func parameter(_ name: String, width: Int?) throws(TLSError) -> [UInt8] {
        OpenSSLErrorQueue.clear()
        var number: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(key.pointer, name, &number) == 1, let number else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot read the public key parameter \(name)")
        }
        defer { BN_free(number) }
        let count = width ?? Int((BN_num_bits(number) + 7) / 8)
        var bytes = [UInt8](repeating: 0, count: count)
        guard BN_bn2binpad(number, &bytes, Int32(count)) == Int32(count) else {
            throw OpenSSLErrorQueue.error(.configuration, "public key parameter \(name) does not fit \(count) bytes")
        }
        return bytes
    }
}
