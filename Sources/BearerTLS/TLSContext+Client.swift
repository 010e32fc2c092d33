internal import COpenSSL
internal import COpenSSLShims

extension TLSContext {
    /// A client context: TLS 1.2+, ALPN, peer verification, optional client
    /// certificate, and resumption of the most recent session.
    public static func client(_ configuration: TLSClientConfiguration) throws(TLSError) -> TLSContext {
        let context = try TLSContext(
            method: TLS_client_method(), isClient: true,
            verifiesPeer: configuration.verifyPeer, alpn: configuration.alpn)
        try context.offerALPN()
        try context.loadTrust(caFile: configuration.caFile, pem: configuration.trustedCertificatesPEM)
        SSL_CTX_set_verify(context.pointer, configuration.verifyPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        try context.loadClientIdentity(
            certificateFile: configuration.clientCertificateFile, keyFile: configuration.clientKeyFile)
        context.keepMostRecentSession()
        return context
    }

    private func offerALPN() throws(TLSError) {
        guard alpnWire.count > 0 else { return }
        OpenSSLErrorQueue.clear()
        // Unlike most OpenSSL calls, this one returns 0 on success.
        guard SSL_CTX_set_alpn_protos(pointer, alpnWire.baseAddress, UInt32(alpnWire.count)) == 0 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot set ALPN protocols")
        }
    }

    private func loadTrust(caFile: String?, pem: String?) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        if caFile == nil && pem == nil {
            guard SSL_CTX_set_default_verify_paths(pointer) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot load the system trust store")
            }
            return
        }
        if let caFile {
            guard SSL_CTX_load_verify_locations(pointer, caFile, nil) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot load CA file \(caFile)")
            }
        }
        if let pem {
            let store = SSL_CTX_get_cert_store(pointer)
            for certificate in try Certificate.chain(fromPEM: pem) {
                OpenSSLErrorQueue.clear()
                // X509_STORE_add_cert takes its own reference.
                guard X509_STORE_add_cert(store, certificate.pointer) == 1 else {
                    throw OpenSSLErrorQueue.error(.configuration, "cannot add trusted certificate")
                }
            }
        }
    }

    /// RFC 8705 §2: the client certificate is presented when the server asks.
    private func loadClientIdentity(certificateFile: String?, keyFile: String?) throws(TLSError) {
        switch (certificateFile, keyFile) {
        case (nil, nil):
            return
        case let (certificateFile?, keyFile?):
            OpenSSLErrorQueue.clear()
            guard SSL_CTX_use_certificate_chain_file(pointer, certificateFile) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot load client certificate \(certificateFile)")
            }
            guard SSL_CTX_use_PrivateKey_file(pointer, keyFile, SSL_FILETYPE_PEM) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "cannot load client key \(keyFile)")
            }
            guard SSL_CTX_check_private_key(pointer) == 1 else {
                throw OpenSSLErrorQueue.error(.configuration, "client key does not match client certificate")
            }
        default:
            throw TLSError(kind: .configuration, reason: "a client certificate needs both a certificate file and a key file")
        }
    }

    /// Sessions go to our callback instead of OpenSSL's internal cache, which
    /// is keyed for servers. TLS 1.3 tickets (RFC 8446 §4.6.1) arrive after the
    /// handshake, so the callback runs during reads.
    private func keepMostRecentSession() {
        _ = CBearerSSL_CTX_set_session_cache_mode(pointer, Int(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE))
        SSL_CTX_sess_set_new_cb(pointer) { ssl, session in
            guard let session, let connection = TLSConnection.owner(of: ssl) else { return 0 }
            // Returning 1 keeps the reference OpenSSL handed us.
            connection.context.remember(TLSSession(takingOwnershipOf: session), for: connection.sessionKey)
            return 1
        }
    }
}
