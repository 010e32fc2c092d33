internal import COpenSSL

/// An X509 certificate.
final class Certificate {
    let pointer: OpaquePointer

    /// Takes over one reference the caller already owns.
    init(takingOwnershipOf pointer: OpaquePointer) {
        self.pointer = pointer
    }

    /// A new, empty certificate to fill in and sign.
    convenience init() throws(TLSError) {
        OpenSSLLibrary.initialize()
        OpenSSLErrorQueue.clear()
        guard let pointer = X509_new() else {
            throw OpenSSLErrorQueue.error(.configuration, "X509_new failed")
        }
        self.init(takingOwnershipOf: pointer)
    }

    deinit {
        X509_free(pointer)
    }

    /// Every certificate in a PEM text, in order; at least one.
    static func chain(fromPEM pem: String) throws(TLSError) -> [Certificate] {
        let bio = try MemoryBIO(contents: pem)
        var chain: [Certificate] = []
        OpenSSLErrorQueue.clear()
        while let certificate = PEM_read_bio_X509(bio.pointer, nil, nil, nil) {
            chain.append(Certificate(takingOwnershipOf: certificate))
        }
        // The read past the last certificate always queues "no start line".
        let entries = OpenSSLErrorQueue.drain()
        guard !chain.isEmpty else {
            throw TLSError(kind: .configuration, reason: OpenSSLErrorQueue.describe("no certificate in PEM", entries))
        }
        return chain
    }

    /// SHA-256 over the DER encoding: the `x5t#S256` thumbprint (RFC 7515 §4.1.8) by which a
    /// certificate-bound token names its certificate (RFC 8705 §3.1).
    var sha256Thumbprint: [UInt8] {
        Self.sha256Thumbprint(of: pointer)
    }

    static func sha256Thumbprint(of certificate: OpaquePointer) -> [UInt8] {
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return [] }
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_X509(certificate, &cursor)
        }
        return CryptoPrimitives.sha256(der)
    }

    func pem() throws(TLSError) -> String {
        let bio = try MemoryBIO()
        OpenSSLErrorQueue.clear()
        guard PEM_write_bio_X509(bio.pointer, pointer) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot encode certificate")
        }
        return bio.text()
    }
}

/// Certificate thumbprints, for code outside this module that compares certificates.
public enum CertificateThumbprint {
    /// The `x5t#S256` thumbprint (RFC 8705 §3.1) of the first certificate of a PEM chain: the
    /// leaf a client presents.
    public static func sha256(ofLeafInPEM pem: String) throws(TLSError) -> [UInt8] {
        try Certificate.chain(fromPEM: pem)[0].sha256Thumbprint
    }
}
