import BearerTLS

/// The Redis key names of one token profile. Derived from everything that decides which token
/// the endpoint grants (endpoint or issuer, client, method, scopes, audience, resources, extra
/// parameters, and the key or certificate a bound token is bound to), so two profiles that would
/// get different tokens never share a name. The name holds a hash of them, not the values.
struct SharedCacheKey: Sendable, Equatable {
    /// `<prefix>:token:<sha-256 hex>`: the sealed token.
    let token: String
    /// `<prefix>:lease:<sha-256 hex>`: who is fetching the next one.
    let lease: String

    /// `boundTo`: the DPoP key's JWK, or the SHA-256 of the client certificate a
    /// certificate-bound token is issued for; nil when the token is a plain bearer token.
    init(_ config: TokenConfig, prefix: String, boundTo: String?) {
        var parts: [String] = ["bearer-proxy shared token v1"]
        parts.append(config.url.map { "url=\($0)" } ?? config.issuer.map { "issuer=\($0)" } ?? "")
        parts.append("client_id=\(config.clientID)")
        parts.append("auth_method=\(config.authMethod.rawValue)")
        // A set: the order they are written in does not change the token.
        parts.append("scopes=\(Set(config.scopes).sorted().joined(separator: " "))")
        parts.append("audience=\(config.audience ?? "")")
        parts.append("resources=\(config.resources.joined(separator: " "))")
        parts.append("extra=\(config.extraParameters.map { "\($0.name)=\($0.value)" }.joined(separator: "&"))")
        parts.append("bound=\(boundTo ?? "")")
        // Length-prefixed, so no value can shift text into the next.
        let material = parts.map { "\($0.utf8.count):\($0)" }.joined()
        let hash = CryptoPrimitives.sha256(Array(material.utf8)).map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
        token = "\(prefix):token:\(hash)"
        lease = "\(prefix):lease:\(hash)"
    }

    /// What the token of `config` is bound to, read now (a rotated certificate makes a new name):
    /// the DPoP key, or the tls_client_auth certificate. nil for a bearer token; a marker when the
    /// certificate cannot be read (a name no readable certificate has; the fetch will fail and say why).
    static func binding(of config: TokenConfig, dpop: DPoPProver?) -> String? {
        if let dpop { return "dpop:" + dpop.publicJWK }
        guard config.authMethod == .tlsClientAuth else { return nil }
        guard let file = config.clientCertificateFile,
              case .success(let pem) = ConfigFiles.contents(of: file, limit: SizeLimits.pemFile),
              let thumbprint = try? CertificateThumbprint.sha256(ofLeafInPEM: String(decoding: pem, as: UTF8.self)) else {
            return "x5t#S256:unreadable"
        }
        return "x5t#S256:" + Base64URL.encode(thumbprint)
    }
}
