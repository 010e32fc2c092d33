/// How the client authenticates to the token endpoint (`token.auth_method`).
/// The raw values are the names registered for `token_endpoint_auth_method` (RFC 7591 §2,
/// OIDC Core §9, RFC 8705 §2.1.1); discovery compares them with
/// `token_endpoint_auth_methods_supported`.
public enum ClientAuthMethod: String, Sendable, Equatable, CaseIterable {
    /// HTTP Basic with the form-encoded client_id and secret (RFC 6749 §2.3.1).
    case clientSecretBasic = "client_secret_basic"
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    case clientSecretPost = "client_secret_post"
    /// A JWT client assertion MACed with the secret, HS256 (OIDC Core §9, RFC 7523 §2.2).
    case clientSecretJWT = "client_secret_jwt"
    /// A JWT client assertion signed with the client's private key (OIDC Core §9, RFC 7523 §2.2).
    case privateKeyJWT = "private_key_jwt"
    /// Mutual TLS with a PKI client certificate (RFC 8705 §2.1).
    case tlsClientAuth = "tls_client_auth"
    /// A JWT client assertion issued by someone else and read from a file, such as a Kubernetes
    /// projected service-account token (workload identity federation). Not a registered name:
    /// on the wire it is `private_key_jwt` (RFC 7523 §2.2), see `registeredName`.
    case federatedJWT = "federated_jwt"

    /// Whether the method needs the client secret.
    public var usesSecret: Bool {
        switch self {
        case .clientSecretBasic, .clientSecretPost, .clientSecretJWT: return true
        case .privateKeyJWT, .tlsClientAuth, .federatedJWT: return false
        }
    }

    /// The `token_endpoint_auth_method` a server must offer for this method: a federated assertion
    /// is the same client authentication as `private_key_jwt` on the wire.
    public var registeredName: String {
        self == .federatedJWT ? ClientAuthMethod.privateKeyJWT.rawValue : rawValue
    }
}
