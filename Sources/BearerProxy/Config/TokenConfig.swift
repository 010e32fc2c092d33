/// The OAuth2 token endpoint and client credentials (`token:` section; RFC 6749 §4.4).
public struct TokenConfig: Sendable, Equatable {
    /// Environment variable read when neither `client_secret_file` nor `client_secret` is set.
    public static let clientSecretEnvironmentVariable = "BEARER_PROXY_CLIENT_SECRET"
    public static let defaultTimeout: Duration = .seconds(10)
    public static let defaultDefaultLifetime: Duration = .seconds(300)

    /// Full endpoint URL; `path` holds path and query.
    public var url: EndpointURL
    public var clientID: String
    public var clientSecret: Secret
    public var secretSource: SecretSource
    /// Sent space-separated as `scope` (RFC 6749 §3.3); empty means no `scope` parameter.
    public var scopes: [String]
    public var authMethod: ClientAuthMethod
    /// PEM bundle to verify the token endpoint with, absolute path; nil means the system trust store.
    public var caFile: String?
    /// DANGEROUS: accept any certificate from the token endpoint.
    public var insecureSkipVerify: Bool
    /// One token request; also the longest a caller waits for a token.
    public var timeout: Duration
    /// Refresh this long before expiry; nil means min(60s, 10% of the token's lifetime).
    public var refreshMargin: Duration?
    /// Lifetime assumed when the response has no `expires_in` and the token is no JWT with `exp`.
    public var defaultLifetime: Duration

    public init(
        url: EndpointURL,
        clientID: String,
        clientSecret: Secret,
        secretSource: SecretSource,
        scopes: [String] = [],
        authMethod: ClientAuthMethod = .clientSecretBasic,
        caFile: String? = nil,
        insecureSkipVerify: Bool = false,
        timeout: Duration = TokenConfig.defaultTimeout,
        refreshMargin: Duration? = nil,
        defaultLifetime: Duration = TokenConfig.defaultDefaultLifetime
    ) {
        self.url = url
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.secretSource = secretSource
        self.scopes = scopes
        self.authMethod = authMethod
        self.caFile = caFile
        self.insecureSkipVerify = insecureSkipVerify
        self.timeout = timeout
        self.refreshMargin = refreshMargin
        self.defaultLifetime = defaultLifetime
    }
}
