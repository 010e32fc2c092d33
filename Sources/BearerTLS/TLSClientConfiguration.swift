/// How a client context trusts servers and presents itself.
public struct TLSClientConfiguration: Sendable {
    /// PEM file of trusted CA certificates.
    public var caFile: String?
    /// PEM text of trusted CA certificates (one or more).
    public var trustedCertificatesPEM: String?
    /// `false` disables chain AND host name verification. Only for an
    /// explicit, loudly named configuration option: it makes the connection
    /// open to any active attacker.
    public var verifyPeer: Bool
    /// Application protocols offered in ALPN (RFC 7301), most preferred first.
    public var alpn: [String]
    /// PEM certificate chain (leaf first) presented when the server asks,
    /// for mutual TLS (RFC 8705).
    public var clientCertificateFile: String?
    /// PEM private key for `clientCertificateFile`.
    public var clientKeyFile: String?

    /// With neither `caFile` nor `trustedCertificatesPEM`, the system trust store is used.
    public init(
        caFile: String? = nil,
        trustedCertificatesPEM: String? = nil,
        verifyPeer: Bool = true,
        alpn: [String] = ["http/1.1"],
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil
    ) {
        self.caFile = caFile
        self.trustedCertificatesPEM = trustedCertificatesPEM
        self.verifyPeer = verifyPeer
        self.alpn = alpn
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }
}
