internal import COpenSSL

/// An EVP_MD_CTX, freed in `deinit`.
final class DigestContext {
    let pointer: OpaquePointer

    init() throws(TLSError) {
        OpenSSLLibrary.initialize()
        OpenSSLErrorQueue.clear()
        guard let pointer = EVP_MD_CTX_new() else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot allocate digest context")
        }
        self.pointer = pointer
    }

    deinit {
        EVP_MD_CTX_free(pointer)
    }
}
