import BearerTLS

/// The OAuth2 token endpoint and client credentials (`token:` section; RFC 6749 §4.4).
public struct TokenConfig: Sendable, Equatable {
    /// Environment variable read when neither `client_secret_file` nor `client_secret` is set.
    public static let clientSecretEnvironmentVariable = "BEARER_PROXY_CLIENT_SECRET"
    public static let defaultTimeout: Duration = .seconds(10)
    public static let defaultDefaultLifetime: Duration = .seconds(300)
    /// Shortest token lifetime taken from a server, and so the shortest `default_lifetime`. A token
    /// of a few milliseconds would be due again at once and the refresh timer would ask the token
    /// endpoint hundreds of times a second; refused, it goes through the failure backoff instead.
    public static let minimumLifetime: Duration = .seconds(1)

    /// Full endpoint URL; `path` holds path and query. Exactly one of `url` and `issuer` is set.
    public var url: EndpointURL?
    /// Issuer identifier whose metadata names the token endpoint (OIDC Discovery §4, RFC 8414 §3).
    public var issuer: EndpointURL?
    public var clientID: String
    /// The secret as read at startup; nil for methods that use none. A file is re-read on change.
    public var clientSecret: Secret?
    public var secretSource: SecretSource?
    /// Sent space-separated as `scope` (RFC 6749 §3.3); empty means no `scope` parameter.
    public var scopes: [String]
    public var authMethod: ClientAuthMethod
    /// private_key_jwt: PEM private key (RSA or EC P-256), absolute path.
    public var privateKeyFile: String?
    /// private_key_jwt: the `kid` header of the client assertion (RFC 7515 §4.1.4).
    public var keyID: String?
    /// private_key_jwt: nil means RS256 for an RSA key, ES256 for an EC key.
    public var signingAlgorithm: JWSAlgorithm?
    /// tls_client_auth: PEM certificate chain and key presented to the token endpoint (RFC 8705).
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    /// federated_jwt: the file holding the assertion (a JWT issued by someone else), read afresh
    /// for every token request.
    public var assertionFile: String?
    /// `audience` form parameter (Auth0 and others).
    public var audience: String?
    /// `resource` form parameters, one per value (RFC 8707 §2).
    public var resources: [String]
    /// More form parameters, in file order.
    public var extraParameters: [TokenParameter]
    /// PEM bundle to verify the token endpoint with, absolute path; nil means the system trust store.
    public var caFile: String?
    /// Allows http:// for the token endpoint (and a discovered one).
    public var insecureHTTP: Bool
    /// DANGEROUS: accept any certificate from the token endpoint.
    public var insecureSkipVerify: Bool
    /// One token request; also the longest a caller waits for a token.
    public var timeout: Duration
    /// Refresh this long before expiry; nil means min(60s, 10% of the token's lifetime).
    public var refreshMargin: Duration?
    /// Lifetime assumed when the response has no `expires_in` and the token is no JWT with `exp`.
    public var defaultLifetime: Duration
    /// No two token requests start closer together than this when they are asked for by upstream
    /// 401s or credential rotation, so a storm of rejections is not a storm of token requests.
    public var minRequestInterval: Duration
    public static let defaultMinRequestInterval: Duration = .seconds(5)
    /// client_secret_basic: how id and secret are written inside the Basic credentials.
    public var basicEncoding: BasicEncoding
    /// DPoP (RFC 9449): proofs with the token request and every upstream request; nil: Bearer.
    public var dpop: DPoPConfig?
    /// One token for the fleet through Redis; nil: each proxy fetches its own.
    public var sharedCache: SharedCacheConfig?

    public enum BasicEncoding: String, Sendable, Equatable, CaseIterable {
        /// Form-encoded first (RFC 6749 §2.3.1), as the OAuth specification requires.
        case form
        /// As they are (RFC 7617), for servers that compare the undecoded text (Glewlwyd 2.7).
        case raw
    }

    public init(
        url: EndpointURL?,
        issuer: EndpointURL? = nil,
        clientID: String,
        clientSecret: Secret?,
        secretSource: SecretSource?,
        scopes: [String] = [],
        authMethod: ClientAuthMethod = .clientSecretBasic,
        privateKeyFile: String? = nil,
        keyID: String? = nil,
        signingAlgorithm: JWSAlgorithm? = nil,
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil,
        assertionFile: String? = nil,
        audience: String? = nil,
        resources: [String] = [],
        extraParameters: [TokenParameter] = [],
        caFile: String? = nil,
        insecureHTTP: Bool = false,
        insecureSkipVerify: Bool = false,
        timeout: Duration = TokenConfig.defaultTimeout,
        refreshMargin: Duration? = nil,
        defaultLifetime: Duration = TokenConfig.defaultDefaultLifetime,
        minRequestInterval: Duration = TokenConfig.defaultMinRequestInterval,
        basicEncoding: BasicEncoding = .form,
        dpop: DPoPConfig? = nil,
        sharedCache: SharedCacheConfig? = nil
    ) {
        self.dpop = dpop
        self.sharedCache = sharedCache
        self.minRequestInterval = minRequestInterval
        self.basicEncoding = basicEncoding
        self.url = url
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.secretSource = secretSource
        self.scopes = scopes
        self.authMethod = authMethod
        self.privateKeyFile = privateKeyFile
        self.keyID = keyID
        self.signingAlgorithm = signingAlgorithm
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.assertionFile = assertionFile
        self.audience = audience
        self.resources = resources
        self.extraParameters = extraParameters
        self.caFile = caFile
        self.insecureHTTP = insecureHTTP
        self.insecureSkipVerify = insecureSkipVerify
        self.timeout = timeout
        self.refreshMargin = refreshMargin
        self.defaultLifetime = defaultLifetime
    }

    /// Where the token endpoint is, or where it is found, for logs and `check-config`.
    public var endpointDescription: String {
        if let url { return "\(url)" }
        return issuer.map { "discovered from issuer \($0)" } ?? "(none)"
    }

    /// Whether the token endpoint (or the issuer) is reached over TLS.
    public var usesTLS: Bool { (url ?? issuer)?.isTLS ?? true }
}
