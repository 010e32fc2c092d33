/// The one service every request is forwarded to (`upstream:` section).
public struct UpstreamConfig: Sendable, Equatable {
    public static let defaultConnectTimeout: Duration = .seconds(5)
    public static let defaultResponseTimeout: Duration = .seconds(60)
    /// Up to this many idle connections per loop, each closed after `poolIdleTimeout` unused: the
    /// pool keeps what recent load needed. 64 made one request in ten at 256 client connections
    /// pay for a new TLS handshake (the pool closed what it could not keep), doubling the CPU.
    public static let defaultPoolMaxIdle = 256
    public static let defaultPoolIdleTimeout: Duration = .seconds(60)

    /// Scheme, host, port and base path (no trailing slash, `""` when none).
    public var url: EndpointURL
    /// PEM bundle to verify the upstream with, absolute path; nil means the system trust store.
    public var caFile: String?
    /// DANGEROUS: accept any upstream certificate.
    public var insecureSkipVerify: Bool
    /// PEM certificate (chain) and key presented to the upstream (mutual TLS), absolute paths;
    /// both or neither. A resource server that takes certificate-bound tokens (RFC 8705 §3) needs
    /// the certificate the token was bound to. Re-read when they change.
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    public var connectTimeout: Duration
    /// From the request being sent to the response head being received.
    public var responseTimeout: Duration
    /// Idle keep-alive connections kept per event loop.
    public var poolMaxIdle: Int
    public var poolIdleTimeout: Duration
    /// Which upstream 401 answers make the proxy drop its token, fetch a new one and replay the
    /// request once (when its body, if any, was no larger than `replayBodyLimit`).
    public var retryUnauthorized: RetryUnauthorized
    /// Request bodies up to this many bytes are kept while they stream, so that a 401 that
    /// rejects the token can be answered by replaying the request with a new one; 0: never.
    public var replayBodyLimit: Int
    public static let defaultReplayBodyLimit = SizeLimits.replayBody
    /// The largest `replay_body_limit` accepted: it is held in memory per request in flight.
    public static let maxReplayBodyLimit = SizeLimits.replayBodyCeiling

    public enum RetryUnauthorized: String, Sendable, Equatable, CaseIterable {
        /// Only `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
        case invalidToken = "invalid_token"
        /// Any 401.
        case any
        /// Never: every 401 goes to the client as it came.
        case never
    }

    public init(
        url: EndpointURL,
        caFile: String? = nil,
        insecureSkipVerify: Bool = false,
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil,
        connectTimeout: Duration = UpstreamConfig.defaultConnectTimeout,
        responseTimeout: Duration = UpstreamConfig.defaultResponseTimeout,
        poolMaxIdle: Int = UpstreamConfig.defaultPoolMaxIdle,
        poolIdleTimeout: Duration = UpstreamConfig.defaultPoolIdleTimeout,
        retryUnauthorized: RetryUnauthorized = .invalidToken,
        replayBodyLimit: Int = UpstreamConfig.defaultReplayBodyLimit
    ) {
        self.retryUnauthorized = retryUnauthorized
        self.replayBodyLimit = replayBodyLimit
        self.url = url
        self.caFile = caFile
        self.insecureSkipVerify = insecureSkipVerify
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
        self.poolMaxIdle = poolMaxIdle
        self.poolIdleTimeout = poolIdleTimeout
    }
}
