/// A TLS failure on this side of the connection, with the OpenSSL reason text.
///
/// `reason` names what OpenSSL reported (for example
/// "certificate verify failed: self-signed certificate"), so a log line or a
/// 502 body says why without anyone having to reproduce the failure.
public struct TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The peer's certificate chain or name did not verify.
        case verificationFailed
        /// The handshake failed for another reason (alert, no shared version or cipher, ...).
        case handshakeFailed
        /// A TLS protocol error after the handshake.
        case protocolError
        /// A certificate, key, CA file or option could not be used.
        case configuration
        /// A system call under OpenSSL failed; the reason carries errno's text.
        case io
    }

    public var kind: Kind
    public var reason: String

    public init(kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String {
        "TLS \(kind): \(reason)"
    }
}
