/// Asks the token endpoint for a new token, every time it is called. Caching is `TokenProvider`'s job.
protocol TokenFetching: Sendable {
    func fetch(_ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void)
}

/// Fetches tokens with the client credentials grant over HTTPS (RFC 6749 §4.4).
struct OAuthTokenFetcher: TokenFetching {
    let parameters: TokenRequest.Parameters
    let endpoint: Endpoint
    let loop: EventLoop
    let resolver: AddressResolver
    let timeout: Duration

    /// Token answers are small; anything larger is not a token response.
    static let maxResponseBytes = 256 * 1024

    func fetch(_ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void) {
        let request = TokenRequest.build(parameters)
        BufferedHTTPClient.send(
            request, to: endpoint, on: loop, resolver: resolver,
            timeout: timeout, maxResponseBytes: Self.maxResponseBytes
        ) { result in
            switch result {
            case .failure(let failure):
                completion(.failure(.unreachable(failure.description)))
            case .success(let response) where response.status == 200:
                completion(Result { () throws(TokenError) in try TokenGrant.parse(response.body) })
            case .success(let response):
                let details = TokenGrant.parseError(response.body)
                completion(.failure(.rejected(status: response.status, error: details.error, errorDescription: details.description)))
            }
        }
    }
}
