internal import COpenSSL

/// An SSL_SESSION a client may resume (RFC 8446 §2.2, RFC 5077).
/// Immutable once created; OpenSSL reference-counts it, so it may be handed
/// to SSL_set_session on any thread.
final class TLSSession: @unchecked Sendable {  // immutable after init; OpenSSL refcounts the SSL_SESSION atomically
    let pointer: OpaquePointer

    /// Takes over one reference the caller already owns.
    init(takingOwnershipOf pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        SSL_SESSION_free(pointer)
    }
}
