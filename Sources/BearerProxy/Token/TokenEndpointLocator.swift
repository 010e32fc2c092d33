import BearerSync

/// Knows the token endpoint: fixed (`token.url`) or discovered from `token.issuer`.
///
/// Discovery runs inside a token fetch, so it inherits the provider's single flight and backoff:
/// at startup a failing discovery is retried like any failed fetch. The result is reused for
/// `refreshInterval`; when a later refresh fails, the last good endpoint stays in use.
final class TokenEndpointLocator: Sendable {
    typealias Completion = @Sendable (Result<EndpointURL, TokenError>) -> Void
    /// How long discovered metadata is trusted before it is fetched again.
    static let refreshInterval: Duration = .seconds(3600)
    /// Metadata documents are small.
    static let maxDocumentBytes = SizeLimits.discoveryDocument

    enum Mode: Sendable {
        case fixed(EndpointURL)
        case discover(issuer: EndpointURL, method: ClientAuthMethod, allowHTTP: Bool)
    }

    /// Sends one GET and answers with the buffered response (injected so tests need no network).
    typealias Transport = @Sendable (_ url: EndpointURL, _ completion: @escaping @Sendable (Result<BufferedHTTPClient.Response, BufferedHTTPClient.Failure>) -> Void) -> Void

    let mode: Mode
    private let transport: Transport
    private let clock: TokenClock
    private let cache = Locked<(metadata: AuthorizationServerMetadata, fetchedAt: UInt64)?>(nil)

    init(mode: Mode, clock: TokenClock = .system, transport: @escaping Transport) {
        self.mode = mode
        self.clock = clock
        self.transport = transport
    }

    /// The metadata last discovered, for `token` output.
    var metadata: AuthorizationServerMetadata? { cache.withLock { $0?.metadata } }

    func locate(_ completion: @escaping Completion) {
        guard case .discover(let issuer, let method, let allowHTTP) = mode else {
            if case .fixed(let url) = mode { completion(.success(url)) }
            return
        }
        let now = clock.uptimeNanoseconds()
        let cached = cache.withLock { $0 }
        if let cached, now &- cached.fetchedAt < TokenProvider.nanoseconds(Self.refreshInterval) {
            completion(.success(cached.metadata.tokenEndpoint))
            return
        }
        discover(issuer: issuer, method: method, allowHTTP: allowHTTP,
                 urls: AuthorizationServerMetadata.documentURLs(for: issuer), firstFailure: nil) { [self] result in
            switch result {
            case .success(let metadata):
                cache.withLock { $0 = (metadata, clock.uptimeNanoseconds()) }
                completion(.success(metadata.tokenEndpoint))
            case .failure(let error):
                // A configuration problem is reported even with a cached endpoint: the server changed.
                if let cached, error.kind == .transient {
                    completion(.success(cached.metadata.tokenEndpoint))
                } else {
                    completion(.failure(error))
                }
            }
        }
    }

    private func discover(
        issuer: EndpointURL, method: ClientAuthMethod, allowHTTP: Bool, urls: [EndpointURL], firstFailure: TokenError?,
        _ completion: @escaping @Sendable (Result<AuthorizationServerMetadata, TokenError>) -> Void
    ) {
        guard let url = urls.first else {
            completion(.failure(firstFailure ?? .discovery("no metadata document found for issuer \(issuer)")))
            return
        }
        transport(url) { [self] result in
            let failure: TokenError
            switch result {
            case .success(let response) where response.status == 200:
                completion(Result { () throws(TokenError) in
                    try AuthorizationServerMetadata.parse(response.body, expectedIssuer: issuer, method: method, allowHTTP: allowHTTP)
                })
                return
            case .success(let response) where response.status >= 500 || response.status == 429:
                failure = .unreachable("metadata \(url) answered \(response.status)")
            case .success(let response):
                failure = .discovery("metadata \(url) answered \(response.status)")
            case .failure(let error):
                failure = .unreachable("metadata \(url): \(error)")
            }
            // The first location's failure is the one worth reporting, unless it was only "not here".
            let keep = firstFailure.map { $0.kind == .transient ? $0 : failure } ?? failure
            discover(issuer: issuer, method: method, allowHTTP: allowHTTP, urls: Array(urls.dropFirst()), firstFailure: keep, completion)
        }
    }

    /// The GET request for a metadata document.
    static func request(for url: EndpointURL) -> [UInt8] {
        Array("GET \(url.path) HTTP/1.1\r\nHost: \(url.authority)\r\nAccept: application/json\r\nConnection: close\r\nUser-Agent: bearer-proxy/\(BearerProxyVersion.current)\r\n\r\n".utf8)
    }
}
