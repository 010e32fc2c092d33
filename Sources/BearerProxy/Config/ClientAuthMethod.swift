/// How the client authenticates to the token endpoint (RFC 6749 §2.3.1).
public enum ClientAuthMethod: String, Sendable, Equatable, CaseIterable {
    /// HTTP Basic with the form-encoded client_id and secret (the method servers must support).
    case clientSecretBasic = "client_secret_basic"
    /// `client_id` and `client_secret` in the form body.
    case clientSecretPost = "client_secret_post"
}
