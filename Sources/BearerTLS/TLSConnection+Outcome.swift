internal import COpenSSL
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

extension TLSConnection {
    /// The one translation of SSL_get_error (SSL_get_error(3)) into a
    /// `TLSIOResult`. Drains the error queue and records the phase.
    /// Called right after a failed OpenSSL call, with that call's errno.
    func translate(returnCode: Int32, errno savedErrno: Int32) -> TLSIOResult {
        // SSL_get_error peeks at the error queue, so it must come before draining.
        let code = SSL_get_error(pointer, returnCode)
        let entries = OpenSSLErrorQueue.drain()
        let failureKind: TLSError.Kind = phase == .handshaking ? .handshakeFailed : .protocolError
        switch code {
        case SSL_ERROR_WANT_READ:
            return .wantRead
        case SSL_ERROR_WANT_WRITE:
            return .wantWrite
        case SSL_ERROR_ZERO_RETURN:
            // close_notify received (RFC 8446 §6.1).
            phase = phase == .established ? .peerClosed : .failed
            return .closed
        case SSL_ERROR_SYSCALL:
            phase = .failed
            if savedErrno == 0 && entries.isEmpty {
                // EOF without close_notify.
                return .closed
            }
            if savedErrno != 0 {
                let text = String(cString: strerror(savedErrno))
                return .failed(TLSError(kind: .io, reason: OpenSSLErrorQueue.describe(text, entries)))
            }
            return .failed(TLSError(kind: failureKind, reason: OpenSSLErrorQueue.reasons(entries, otherwise: "system call failed")))
        case SSL_ERROR_SSL:
            phase = .failed
            if entries.contains(where: { $0.isSSLReason(SSL_R_UNEXPECTED_EOF_WHILE_READING) }) {
                // OpenSSL 3 reports an EOF without close_notify as an error;
                // callers treat it like any other end of the connection.
                // Truncation is caught by HTTP framing (RFC 9112 §8).
                return .closed
            }
            if entries.contains(where: { $0.isSSLReason(SSL_R_CERTIFICATE_VERIFY_FAILED) }) {
                let result = SSL_get_verify_result(pointer)
                if result != X509_V_OK {
                    let text = String(cString: X509_verify_cert_error_string(result))
                    return .failed(TLSError(kind: .verificationFailed, reason: "certificate verify failed: \(text)"))
                }
            }
            return .failed(TLSError(kind: failureKind, reason: OpenSSLErrorQueue.reasons(entries, otherwise: "SSL_ERROR_SSL with no queued reason")))
        default:
            // WANT_X509_LOOKUP, WANT_ASYNC and friends need callbacks we never install.
            phase = .failed
            return .failed(TLSError(kind: failureKind, reason: OpenSSLErrorQueue.describe("unexpected SSL_get_error \(code)", entries)))
        }
    }
}

extension OpenSSLErrorQueue.Entry {
    func isSSLReason(_ reason: Int32) -> Bool {
        library == ERR_LIB_SSL && reasonCode == reason
    }
}
