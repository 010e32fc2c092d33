import BearerTLS

/// Asks the token endpoint for a new token, every time it is called. Caching is `TokenProvider`'s job.
protocol TokenFetching: Sendable {
    func fetch(_ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void)
}

/// Fetches tokens with the client credentials grant (RFC 6749 §4.4): locates the endpoint
/// (discovery when configured), reads the credentials afresh, builds and sends the request,
/// and classifies the answer.
struct OAuthTokenFetcher: TokenFetching {
    let parameters: TokenRequest.Parameters
    let locator: TokenEndpointLocator
    let credentials: ClientCredentialSource
    let tls: TokenTLSContexts
    let loop: EventLoop
    let resolver: AddressResolver
    let timeout: Duration
    var tlsMetrics: TLSHandshakeMetrics? = nil
    var clock: TokenClock = .system

    /// Token answers are small; anything larger is not a token response.
    static let maxResponseBytes = 256 * 1024

    func fetch(_ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void) {
        locator.locate { located in
            switch located {
            case .failure(let error):
                completion(.failure(error))
            case .success(let url):
                send(to: url, completion)
            }
        }
    }

    private func send(to url: EndpointURL, _ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void) {
        let request: [UInt8]
        let endpoint: Endpoint
        do throws(TokenError) {
            let current = try credentials.load().get()
            request = try TokenRequest.build(parameters, endpoint: url, credentials: current,
                                             now: clock.secondsSince1970(), jwtID: ClientAssertion.newJWTID())
            endpoint = Endpoint(host: url.host, port: url.port, tlsContext: url.isTLS ? try tls.current() : nil)
        } catch {
            completion(.failure(error))
            return
        }
        BufferedHTTPClient.send(
            request, to: endpoint, on: loop, resolver: resolver,
            timeout: timeout, maxResponseBytes: Self.maxResponseBytes, tlsMetrics: tlsMetrics
        ) { result in
            completion(Self.interpret(result))
        }
    }

    /// One place that turns an HTTP outcome into a grant or a classified failure.
    static func interpret(_ result: Result<BufferedHTTPClient.Response, BufferedHTTPClient.Failure>) -> Result<TokenGrant, TokenError> {
        switch result {
        case .failure(let failure):
            return .failure(.unreachable(failure.description))
        case .success(let response) where response.status == 200:
            return Result { () throws(TokenError) in
                var grant = try TokenGrant.parse(response.body)
                grant.serverDate = response.head.firstValue(named: "date").flatMap { HTTPDate.parse(String(decoding: $0, as: UTF8.self)) }
                return grant
            }
        case .success(let response):
            let details = TokenGrant.parseError(response.body)
            let retryAfter = response.head.firstValue(named: "retry-after").flatMap { HTTPDate.retryAfterSeconds(String(decoding: $0, as: UTF8.self)) }
            return .failure(.rejected(status: response.status, error: details.error,
                                      errorDescription: details.description, retryAfterSeconds: retryAfter))
        }
    }
}
