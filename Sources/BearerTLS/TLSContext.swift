internal import COpenSSL
internal import COpenSSLShims
import BearerSync

/// SSL_CTX wrapper. Shared by many connections on many threads.
///
/// Fully configured before the factory returns it and never changed after,
/// except for the client session cache, which sits behind a lock (Locked).
/// Connections keep their context alive, so the unretained back-pointer
/// stored in the SSL_CTX (ex_data index 0, the "app data" slot) that the
/// C callbacks use to find this object never dangles.
public final class TLSContext: @unchecked Sendable {  // SSL_CTX is immutable after setup and locked by OpenSSL; sessions is guarded by its lock (Locked)
    let pointer: OpaquePointer
    let isClient: Bool
    /// Client side: whether the peer's chain and name are verified.
    let verifiesPeer: Bool
    /// Server side: our ALPN list in wire format for the selection callback.
    /// Heap memory owned by this object, because OpenSSL keeps a pointer into
    /// it as the selected protocol.
    let alpnWire: UnsafeMutableBufferPointer<UInt8>
    /// Client side: the newest resumable session per server name, offered
    /// by the next connection to that name.
    private let sessions = Locked(TLSSessionCache())

    init(method: OpaquePointer?, isClient: Bool, verifiesPeer: Bool, alpn: [String]) throws(TLSError) {
        OpenSSLLibrary.initialize()
        let wire = try ALPNProtocols.wireFormat(alpn)
        OpenSSLErrorQueue.clear()
        guard let method, let pointer = SSL_CTX_new(method) else {
            throw OpenSSLErrorQueue.error(.configuration, "SSL_CTX_new failed")
        }
        self.pointer = pointer
        self.isClient = isClient
        self.verifiesPeer = verifiesPeer
        self.alpnWire = .allocate(capacity: wire.count)
        _ = self.alpnWire.initialize(from: wire)

        SSL_CTX_set_ex_data(pointer, 0, Unmanaged.passUnretained(self).toOpaque())
        // RFC 8996: TLS 1.0 and 1.1 are deprecated; 1.2 is the floor.
        guard CBearerSSL_CTX_set_min_proto_version(pointer, TLS1_2_VERSION) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot set minimum protocol version")
        }
        // Compression enables CRIME-style attacks (RFC 7457 §2.6).
        SSL_CTX_set_options(pointer, CBearerSSL_OP_NO_COMPRESSION())
        // Partial writes let a non-blocking writer make progress with a full
        // socket buffer; the caller may retry from a moved buffer; the ~17 KiB
        // record buffers are released while a connection is idle (measured:
        // about 20 KB per idle connection, sessions and certificates included).
        let modes = SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS
        _ = CBearerSSL_CTX_set_mode(pointer, Int(modes))
        // Read whole socket buffers instead of one record header, then one record body, per
        // read(2): a small response arrives in one system call instead of two.
        _ = CBearerSSL_CTX_set_read_ahead(pointer, 1)
    }

    deinit {
        SSL_CTX_free(pointer)
        alpnWire.deallocate()
    }

    /// The Swift object behind an SSL_CTX, for the C callbacks.
    static func owner(of context: OpaquePointer?) -> TLSContext? {
        guard let context, let raw = SSL_CTX_get_ex_data(context, 0) else { return nil }
        return Unmanaged<TLSContext>.fromOpaque(raw).takeUnretainedValue()
    }

    func mostRecentSession(for serverName: String) -> TLSSession? {
        sessions.withLock { $0.session(for: serverName) }
    }

    func remember(_ session: TLSSession, for serverName: String) {
        // Replaced sessions come back out so they are freed after the lock is released.
        _ = sessions.withLock { $0.store(session, for: serverName) }
    }
}
