internal import COpenSSL

/// Converts between OpenSSL's DER ECDSA-Sig-Value (RFC 3279 §2.2.3) and the JOSE form,
/// R || S each left-padded to 32 bytes for P-256 (RFC 7518 §3.4).
enum ECDSASignature {
    static let coordinateLength = 32

    static func joseForm(fromDER der: [UInt8]) throws(TLSError) -> [UInt8] {
        OpenSSLErrorQueue.clear()
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw OpenSSLErrorQueue.error(.configuration, "cannot parse ECDSA signature") }
        defer { ECDSA_SIG_free(parsed) }
        var r: OpaquePointer? = nil
        var s: OpaquePointer? = nil
        ECDSA_SIG_get0(parsed, &r, &s)
        var out = [UInt8](repeating: 0, count: 2 * coordinateLength)
        let written = out.withUnsafeMutableBufferPointer { buffer in
            BN_bn2binpad(r, buffer.baseAddress, Int32(coordinateLength))
                + BN_bn2binpad(s, buffer.baseAddress! + coordinateLength, Int32(coordinateLength))
        }
        guard written == Int32(2 * coordinateLength) else {
            throw TLSError(kind: .configuration, reason: "ECDSA signature does not fit P-256")
        }
        return out
    }

    static func derForm(fromJOSE jose: [UInt8]) throws(TLSError) -> [UInt8] {
        guard jose.count == 2 * coordinateLength else {
            throw TLSError(kind: .protocolError, reason: "ES256 signature has \(jose.count) bytes, not 64")
        }
        OpenSSLErrorQueue.clear()
        guard let signature = ECDSA_SIG_new() else { throw OpenSSLErrorQueue.error(.configuration, "cannot allocate ECDSA signature") }
        defer { ECDSA_SIG_free(signature) }
        let (r, s) = jose.withUnsafeBufferPointer { buffer in
            (BN_bin2bn(buffer.baseAddress, Int32(coordinateLength), nil),
             BN_bin2bn(buffer.baseAddress! + coordinateLength, Int32(coordinateLength), nil))
        }
        // set0 takes ownership of both numbers on success.
        guard let r, let s, ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            throw OpenSSLErrorQueue.error(.configuration, "cannot build ECDSA signature")
        }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_ECDSA_SIG(signature, &out)
        guard length > 0, let out else { throw OpenSSLErrorQueue.error(.configuration, "cannot encode ECDSA signature") }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}
