import BearerTLS

/// Asks the token endpoint for a new token, every time it is called. Caching is `TokenProvider`'s job.
protocol TokenFetching: Sendable {
    func fetch(_ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void)
    /// What an operator could check for `error`, given how this fetcher asks; logged with it.
    func hint(for error: TokenError) -> String?
    /// The upstream rejected `token`, which the provider has dropped: a fetcher that shares tokens
    /// stops others from using it.
    func rejected(_ token: AccessToken)
    /// The profile was replaced by a reload: let go of connections kept for later fetches.
    func retire()
}

extension TokenFetching {
    func hint(for error: TokenError) -> String? { nil }
    func rejected(_ token: AccessToken) {}
    func retire() {}
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
    /// The newest `DPoP-Nonce` the token endpoint sent (RFC 9449 §8), used in every later proof.
    let dpopNonce = DPoPNonce()

    /// Token answers are small; anything larger is not a token response.
    static let maxResponseBytes = SizeLimits.tokenResponse

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

    /// `nonceRetry`: this is the one retry after the endpoint asked for a DPoP nonce.
    private func send(to url: EndpointURL, nonceRetry: Bool = false,
                      _ completion: @escaping @Sendable (Result<TokenGrant, TokenError>) -> Void) {
        let request: TokenRequest.Prepared
        let endpoint: Endpoint
        do throws(TokenError) {
            let current = try credentials.load(now: clock.secondsSince1970()).get()
            request = try TokenRequest.prepare(parameters, endpoint: url, credentials: current,
                                               now: clock.secondsSince1970(), jwtID: ClientAssertion.newJWTID(),
                                               dpopNonce: dpopNonce.current)
            endpoint = Endpoint(host: url.host, port: url.port, tlsContext: url.isTLS ? try tls.current() : nil)
        } catch {
            completion(.failure(error))
            return
        }
        let scrubber = request.scrubber
        BufferedHTTPClient.send(
            request.bytes, to: endpoint, on: loop, resolver: resolver,
            timeout: timeout, maxResponseBytes: Self.maxResponseBytes, tlsMetrics: tlsMetrics
        ) { [self] result in
            if parameters.dpop != nil, case .success(let response) = result {
                // RFC 9449 §8.2: a server may send a new nonce with any answer; the newest is used.
                if let nonce = response.head.firstValue(named: "dpop-nonce").map({ String(decoding: $0, as: UTF8.self) }),
                   DPoPProver.isUsableNonce(nonce) {
                    dpopNonce.update(nonce)
                    // RFC 9449 §8: 400 use_dpop_nonce asks for the same request with the nonce in the
                    // proof; once, so a server that never accepts cannot make a loop.
                    if !nonceRetry, response.status == 400,
                       TokenGrant.parseError(response.body, scrubber: scrubber).error == "use_dpop_nonce" {
                        send(to: url, nonceRetry: true, completion)
                        return
                    }
                }
            }
            completion(Self.interpret(result, scrubber: scrubber, dpop: parameters.dpop != nil || parameters.dpopProblem != nil))
        }
    }

    /// One place that turns an HTTP outcome into a grant or a classified failure. Text from the
    /// server passes through `scrubber`, so no echo of the credentials sent reaches a log or a caller.
    static func interpret(
        _ result: Result<BufferedHTTPClient.Response, BufferedHTTPClient.Failure>, scrubber: EchoScrubber = .none, dpop: Bool = false
    ) -> Result<TokenGrant, TokenError> {
        switch result {
        case .failure(let failure):
            return .failure(.unreachable(failure.description))
        case .success(let response) where response.status == 200:
            return Result { () throws(TokenError) in
                var grant = try TokenGrant.parse(response.body, scrubber: scrubber, dpop: dpop)
                grant.serverDate = response.head.firstValue(named: "date").flatMap { HTTPDate.parse(String(decoding: $0, as: UTF8.self)) }
                return grant
            }
        case .success(let response):
            let details = TokenGrant.parseError(response.body, scrubber: scrubber)
            let retryAfter = response.head.firstValue(named: "retry-after").flatMap { HTTPDate.retryAfterSeconds(String(decoding: $0, as: UTF8.self)) }
            return .failure(.rejected(status: response.status, error: details.error,
                                      errorDescription: details.description, retryAfterSeconds: retryAfter))
        }
    }

    func hint(for error: TokenError) -> String? {
        Self.hint(for: error, parameters: parameters)
    }

    /// Servers differ in how they take client credentials, and many say no more than 401 or 403.
    static func hint(for error: TokenError, parameters: TokenRequest.Parameters) -> String? {
        guard case .rejected(let status, let code, _, _) = error, error.kind == .configuration else { return nil }
        var hints: [String] = []
        let refusedCredentials = status == 401 || status == 403 || code == "invalid_client" || code == "unauthorized_client"
        if refusedCredentials {
            hints.append("check token.client_id and the secret or key")
            if parameters.authMethod == .clientSecretBasic {
                switch parameters.basicEncoding {
                case .form:
                    hints.append("some servers take HTTP Basic only with the secret as it is, not form-encoded "
                        + "(RFC 6749 §2.3.1): try token.basic_encoding: raw, or auth_method: client_secret_post")
                case .raw:
                    hints.append("token.basic_encoding is raw; RFC 6749 §2.3.1 servers expect form (the default)")
                }
            }
        }
        if status == 400 || status == 403 || code == "invalid_scope" {
            hints.append(parameters.scopes.isEmpty
                ? "no scope is sent (token.scopes is empty), and several servers refuse that, some with a bare 403"
                : "check that token.scopes are granted to this client")
        }
        return hints.isEmpty ? nil : hints.joined(separator: "; ")
    }
}
