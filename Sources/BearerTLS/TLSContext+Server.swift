internal import COpenSSL
internal import COpenSSLShims

extension TLSContext {
    /// A server context from an in-memory PEM chain (leaf first) and key.
    /// Session tickets and OpenSSL's default server session cache stay on,
    /// so clients can resume.
    public static func server(certificateChainPEM: String, privateKeyPEM: String, alpn: [String] = ["http/1.1"]) throws(TLSError) -> TLSContext {
        try server(certificateChainPEM: certificateChainPEM, privateKeyPEM: privateKeyPEM, alpn: alpn, legacyVersion: nil)
    }

    /// `legacyVersion` pins the server to one old protocol version (e.g.
    /// TLS1_1_VERSION), only so tests can show that clients refuse it.
    static func server(certificateChainPEM: String, privateKeyPEM: String, alpn: [String], legacyVersion: Int32?) throws(TLSError) -> TLSContext {
        let context = try TLSContext(method: TLS_server_method(), isClient: false, verifiesPeer: false, alpn: alpn)
        try context.useIdentity(chain: Certificate.chain(fromPEM: certificateChainPEM), key: PrivateKey(pem: privateKeyPEM))
        if context.alpnWire.count > 0 {
            context.selectALPN()
        }
        if let legacyVersion {
            // OpenSSL 3 allows TLS < 1.2 only at security level 0.
            SSL_CTX_set_security_level(context.pointer, 0)
            _ = CBearerSSL_CTX_set_min_proto_version(context.pointer, legacyVersion)
            _ = CBearerSSL_CTX_set_max_proto_version(context.pointer, legacyVersion)
        }
        return context
    }

    /// A server context that demands a client certificate issued by one of `clientCAPEM`
    /// (mutual TLS, RFC 8705 §2); a client without one fails the handshake.
    public static func server(
        certificateChainPEM: String, privateKeyPEM: String, requiringClientCertificateFrom clientCAPEM: String,
        alpn: [String] = ["http/1.1"]
    ) throws(TLSError) -> TLSContext {
        let context = try server(certificateChainPEM: certificateChainPEM, privateKeyPEM: privateKeyPEM, alpn: alpn, legacyVersion: nil)
        let store = SSL_CTX_get_cert_store(context.pointer)
        for certificate in try Certificate.chain(fromPEM: clientCAPEM) {
            OpenSSLErrorQueue.clear()
            guard X509_STORE_add_cert(store, certificate.pointer) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot add client CA certificate")
            }
        }
        SSL_CTX_set_verify(context.pointer, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        // A server that verifies clients must name its session context, or OpenSSL refuses every
        // resumed session with an internal-error alert ("session id context uninitialized").
        let sessionContext = Array("bearer-proxy".utf8)
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_set_session_id_context(context.pointer, sessionContext, UInt32(sessionContext.count)) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot set the session id context")
        }
        return context
    }

    private func useIdentity(chain: [Certificate], key: PrivateKey) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_use_certificate(pointer, chain[0].pointer) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot use server certificate")
        }
        for intermediate in chain.dropFirst() {
            guard CBearerSSL_CTX_add1_chain_cert(pointer, intermediate.pointer) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot add chain certificate")
            }
        }
        guard SSL_CTX_use_PrivateKey(pointer, key.pointer) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot use server key")
        }
        guard SSL_CTX_check_private_key(pointer) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "server key does not match server certificate")
        }
    }

    /// Picks our most preferred protocol the client also offers. With no
    /// overlap, RFC 7301 §3.2 requires a fatal no_application_protocol alert.
    private func selectALPN() {
        SSL_CTX_set_alpn_select_cb(pointer, { ssl, out, outLength, offered, offeredLength, _ in
            guard let ssl, let out, let outLength, let offered,
                  let context = TLSContext.owner(of: SSL_get_SSL_CTX(ssl)) else {
                return SSL_TLSEXT_ERR_ALERT_FATAL
            }
            var selected: UnsafeMutablePointer<UInt8>? = nil
            var selectedLength: UInt8 = 0
            let outcome = SSL_select_next_proto(
                &selected, &selectedLength,
                context.alpnWire.baseAddress, UInt32(context.alpnWire.count),
                offered, offeredLength)
            guard outcome == OPENSSL_NPN_NEGOTIATED, let selected else {
                return SSL_TLSEXT_ERR_ALERT_FATAL
            }
            out.pointee = UnsafePointer(selected)
            outLength.pointee = selectedLength
            return SSL_TLSEXT_ERR_OK
        }, nil)
    }
}
