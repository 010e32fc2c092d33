internal import COpenSSL
internal import COpenSSLShims
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// SSL wrapper over an already-connected non-blocking socket fd (through `SocketBIO`; OpenSSL
/// makes the system calls).
///
/// Not thread-safe: owned by one serial queue, the one whose event loop watches
/// the socket. Never blocks: every operation returns `.wantRead` or
/// `.wantWrite` when the socket is not ready, and the caller repeats the same
/// call once it is. Does NOT close the fd (the caller owns it).
///
/// Writes go out with send(MSG_NOSIGNAL): a write (even an alert OpenSSL sends
/// on its own) to a peer that has gone is EPIPE, `.failed(kind: .io)`, never a SIGPIPE.
public final class TLSConnection {
    /// Where the connection is in its life. OpenSSL forbids SSL_shutdown
    /// during the handshake and after a fatal error, so shutdown consults this.
    enum Phase: Equatable {
        case handshaking
        case established
        /// The peer sent close_notify after the handshake; ours may still be sent.
        case peerClosed
        /// A fatal error, an EOF without close_notify, or a close during the
        /// handshake: nothing more to send.
        case failed
    }

    /// Keeps the SSL_CTX, and the object its callbacks find, alive.
    let context: TLSContext
    let pointer: OpaquePointer
    /// Client side: the name sessions are cached under (RFC 8446 §4.6.1).
    let sessionKey: String
    var phase: Phase = .handshaking
    /// Outlives `pointer`'s BIO (freed in `deinit` after the SSL).
    private let socket: SocketBIO

    /// Client side when `context` is a client context. `serverName`: host name
    /// (sent as SNI and verified with SSL_set1_host) or an IP literal
    /// (verified as IP, and no SNI sent, per RFC 6066 §3). Server side:
    /// `serverName` is ignored.
    public init(context: TLSContext, fileDescriptor: Int32, serverName: String?) throws(TLSError) {
        // Parsed before SSL_new, so a bad name cannot leak the SSL.
        var expected: ServerName? = nil
        if context.isClient, let serverName {
            expected = try ServerName(serverName)
        }
        OpenSSLErrorQueue.clear()
        guard let pointer = SSL_new(context.pointer) else {
            throw OpenSSLErrorQueue.error(.configuration, "SSL_new failed")
        }
        self.context = context
        self.pointer = pointer
        self.sessionKey = expected?.cacheKey ?? ""
        self.socket = SocketBIO(fd: fileDescriptor)
        // For the C callbacks; this object outlives every call into `pointer`.
        SSL_set_ex_data(pointer, 0, Unmanaged.passUnretained(self).toOpaque())
        // Our socket BIO (it never closes the fd); the SSL owns it from here, and `deinit` frees both.
        guard let bio = socket.makeBIO() else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot make the socket BIO")
        }
        SSL_set_bio(pointer, bio, bio)
        if context.isClient {
            try expectServer(named: expected)
            if let session = context.mostRecentSession(for: sessionKey) {
                // Best effort: a session OpenSSL will not resume just means a full handshake.
                _ = SSL_set_session(pointer, session.pointer)
            }
            SSL_set_connect_state(pointer)
        } else {
            SSL_set_accept_state(pointer)
        }
        OpenSSLErrorQueue.clear()
    }

    deinit {
        SSL_free(pointer)
    }

    /// The TLSConnection behind an SSL, for the C callbacks.
    static func owner(of ssl: OpaquePointer?) -> TLSConnection? {
        guard let ssl, let raw = SSL_get_ex_data(ssl, 0) else { return nil }
        return Unmanaged<TLSConnection>.fromOpaque(raw).takeUnretainedValue()
    }

    private func expectServer(named serverName: ServerName?) throws(TLSError) {
        guard let serverName else {
            // Without a name, a valid chain for any host would be accepted.
            guard !context.verifiesPeer else {
                throw TLSError(kind: .configuration, reason: "a verifying client connection needs a server name")
            }
            return
        }
        switch serverName {
        case .host(let host):
            // RFC 6125 §6.4.3: "*" matches one whole label only.
            SSL_set_hostflags(pointer, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard CBearerSSL_set_tlsext_host_name(pointer, host) == 1, SSL_set1_host(pointer, host) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot set server name \(host)")
            }
        case .ipAddress(let address):
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(pointer), address) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot set server address \(address)")
            }
        }
    }

    /// `.done(0)` once the handshake is complete.
    public func handshake() -> TLSIOResult {
        switch phase {
        case .established, .peerClosed:
            return .done(0)
        case .failed:
            return .failed(TLSError(kind: .handshakeFailed, reason: "connection already failed"))
        case .handshaking:
            if let pending = perform({ SSL_do_handshake($0) }) {
                return pending
            }
            return .done(0)
        }
    }

    /// `.done(n)` with n > 0 bytes read (`.done(0)` only for an empty buffer).
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSIOResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        // `isDrained` speaks of this call only: a record OpenSSL had buffered earlier comes back
        // without a socket read, and an old "drained" would hide bytes that arrived since.
        socket.state.pointee.drained = false
        var count = 0
        if let pending = perform({ SSL_read_ex($0, base, buffer.count, &count) }) {
            return pending
        }
        return .done(count)
    }

    /// `.done(n)` with n bytes written, possibly fewer than given (partial
    /// writes are on). After `.wantRead`/`.wantWrite`, retry with at least the
    /// same bytes; the buffer may have moved.
    public func write(_ bytes: UnsafeRawBufferPointer) -> TLSIOResult {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .done(0) }
        var count = 0
        if let pending = perform({ SSL_write_ex($0, base, bytes.count, &count) }) {
            return pending
        }
        return .done(count)
    }

    /// Sends close_notify (RFC 8446 §6.1), best effort: does not wait for the
    /// peer's. `.done(0)` when sent or when there is nothing to send.
    public func shutdown() -> TLSIOResult {
        switch phase {
        case .handshaking, .failed:
            return .done(0)
        case .established, .peerClosed:
            // 0 means "sent, peer's not yet received", which is all we want.
            if let pending = perform({ SSL_shutdown($0) }, succeeded: { $0 >= 0 }) {
                return pending
            }
            return .done(0)
        }
    }

    /// True when OpenSSL holds input not yet returned by `read`: decrypted bytes, or raw bytes
    /// read ahead from the socket.
    public var hasBufferedInput: Bool {
        SSL_has_pending(pointer) == 1
    }

    /// True when nothing more can be read without the socket announcing it: OpenSSL holds no
    /// input, and during the last `read` its socket read returned less than it asked for (or
    /// EAGAIN, or the end). A `read` served from OpenSSL's buffer alone leaves it false.
    /// An edge-triggered caller may then wait for the next edge instead of reading until want-read.
    public var isDrained: Bool {
        socket.state.pointee.drained && SSL_has_pending(pointer) != 1
    }

    public var isHandshakeComplete: Bool {
        SSL_is_init_finished(pointer) == 1
    }

    /// The protocol the server selected with ALPN (RFC 7301), if any.
    public var negotiatedALPN: String? {
        var data: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(pointer, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The `x5t#S256` thumbprint of the certificate the peer presented (RFC 8705 §3.1), nil when
    /// it presented none: what a resource server compares with a certificate-bound token.
    public var peerCertificateSHA256: [UInt8]? {
        guard let certificate = SSL_get1_peer_certificate(pointer) else { return nil }
        defer { X509_free(certificate) }
        return Certificate.sha256Thumbprint(of: certificate)
    }

    public var sessionReused: Bool {
        SSL_session_reused(pointer) == 1
    }

    /// "TLSv1.3", "TLSv1.2", ...
    public var protocolVersion: String {
        String(cString: SSL_get_version(pointer))
    }

    /// Runs one OpenSSL call with a clean error queue and errno. Returns nil
    /// on success, otherwise the translated outcome. The queue is cleared before each call only:
    /// every OpenSSL call in this project clears it first, so what a successful call may leave
    /// behind is never read, and a second clear per read and write (0.8% of the CPU at 64
    /// connections, BENCHMARKS.md) would buy nothing.
    private func perform(_ call: (OpaquePointer) -> Int32, succeeded: (Int32) -> Bool = { $0 > 0 }) -> TLSIOResult? {
        OpenSSLErrorQueue.clear()
        errno = 0
        let returnCode = call(pointer)
        let savedErrno = errno
        guard !succeeded(returnCode) else {
            // Reads and writes finish a handshake the caller did not drive explicitly.
            if phase == .handshaking {
                phase = .established
            }
            return nil
        }
        return translate(returnCode: returnCode, errno: savedErrno)
    }
}
