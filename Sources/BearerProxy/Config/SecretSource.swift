/// Where the client secret came from, for `check-config` and startup logs.
public enum SecretSource: Sendable, Equatable {
    /// `token.client_secret_file`, resolved against the config file's directory.
    case file(String)
    /// `token.client_secret` in the config file itself.
    case inline
    /// The named environment variable (`BEARER_PROXY_CLIENT_SECRET`).
    case environment(String)
}
