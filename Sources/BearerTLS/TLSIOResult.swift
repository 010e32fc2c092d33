/// The outcome of one non-blocking TLS call.
///
/// `wantRead` / `wantWrite` tell the event loop which readiness to wait for
/// before calling the same operation again. Either can come from any
/// operation: a read may need to write (TLS 1.3 key update, RFC 8446 §4.6.3)
/// and a write may need to read.
public enum TLSIOResult: Equatable, Sendable {
    /// Completed; the count of bytes read or written (0 for handshake and shutdown).
    case done(Int)
    case wantRead
    case wantWrite
    /// The peer sent close_notify, or the TCP connection ended without one.
    case closed
    case failed(TLSError)
}
