internal import COpenSSL

/// An in-memory BIO, for reading and writing PEM without touching disk.
final class MemoryBIO {
    let pointer: OpaquePointer

    init() throws(TLSError) {
        OpenSSLLibrary.initialize()
        OpenSSLErrorQueue.clear()
        guard let pointer = BIO_new(BIO_s_mem()) else {
            throw OpenSSLErrorQueue.error(.configuration, "BIO_new failed")
        }
        self.pointer = pointer
    }

    /// A BIO holding a copy of `text`, ready to be read.
    convenience init(contents text: String) throws(TLSError) {
        try self.init()
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { BIO_write(pointer, $0.baseAddress, Int32($0.count)) }
        guard written == bytes.count || bytes.isEmpty else {
            throw OpenSSLErrorQueue.error(.configuration, "BIO_write failed")
        }
    }

    deinit {
        BIO_free(pointer)
    }

    /// Everything written so far, as text.
    func text() -> String {
        let count = Int(BIO_ctrl_pending(pointer))
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { BIO_read(pointer, $0.baseAddress, Int32(count)) }
        return String(decoding: bytes.prefix(max(Int(read), 0)), as: UTF8.self)
    }
}
