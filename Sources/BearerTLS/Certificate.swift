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

    func pem() throws(TLSError) -> String {
        let bio = try MemoryBIO()
        OpenSSLErrorQueue.clear()
        guard PEM_write_bio_X509(bio.pointer, pointer) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot encode certificate")
        }
        return bio.text()
    }
}
