import BearerTLS
import BearerSync

/// The TLS client context for the token endpoint. With `tls_client_auth` the certificate and key
/// files are read into the context; when their contents change (rotation) the next request gets
/// a new context with the new certificate.
final class TokenTLSContexts: Sendable {
    private let configuration: TLSClientConfiguration
    private let credentials: ClientCredentialSource
    private let cached = Locked<(fingerprint: [UInt8], context: TLSContext)?>(nil)

    init(_ config: TokenConfig) {
        configuration = TLSClientConfiguration(
            caFile: config.caFile, verifyPeer: !config.insecureSkipVerify,
            clientCertificateFile: config.authMethod == .tlsClientAuth ? config.clientCertificateFile : nil,
            clientKeyFile: config.authMethod == .tlsClientAuth ? config.clientKeyFile : nil)
        credentials = ClientCredentialSource(config)
    }

    /// Builds the context once, and again only when the client certificate files changed.
    func current() throws(TokenError) -> TLSContext {
        let fingerprint = configuration.clientCertificateFile == nil ? [] : credentials.fingerprint()
        if let cached = cached.withLock({ $0 }), cached.fingerprint == fingerprint {
            return cached.context
        }
        let context: TLSContext
        do {
            context = try TLSContext.client(configuration)
        } catch {
            throw .credentials("TLS setup for the token endpoint failed: \(error.reason)")
        }
        cached.withLock { $0 = (fingerprint, context) }
        return context
    }
}
