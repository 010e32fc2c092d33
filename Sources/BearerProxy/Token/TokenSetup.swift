import BearerTLS
import Logging

/// Builds the token machinery from `token:` the same way for the proxy and for `bearer-proxy token`.
struct TokenSetup {
    let locator: TokenEndpointLocator
    let fetcher: OAuthTokenFetcher
    let credentials: ClientCredentialSource
    /// token.dpop: the key every proof of this profile is signed with (the token request's and
    /// the upstream requests'). nil without token.dpop, or when the key could not be set up; then
    /// `dpopProblem` says why and every token request fails with it.
    let dpop: DPoPProver?
    let dpopProblem: TokenError?

    /// `tlsMetrics` counts the handshakes with the token endpoint (the proxy's; none for `token`).
    init(config: TokenConfig, loop: EventLoop, resolver: AddressResolver, tlsMetrics: TLSHandshakeMetrics? = nil) {
        let tls = TokenTLSContexts(config)
        let timeout = config.timeout
        let mode: TokenEndpointLocator.Mode
        if let url = config.url {
            mode = .fixed(url)
        } else {
            mode = .discover(issuer: config.issuer!, method: config.authMethod, allowHTTP: config.insecureHTTP)
        }
        locator = TokenEndpointLocator(mode: mode) { url, completion in
            let endpoint: Endpoint
            do throws(TokenError) {
                endpoint = Endpoint(host: url.host, port: url.port, tlsContext: url.isTLS ? try tls.current() : nil)
            } catch {
                completion(.failure(.invalidResponse("\(error)")))
                return
            }
            BufferedHTTPClient.send(TokenEndpointLocator.request(for: url), to: endpoint, on: loop, resolver: resolver,
                                    timeout: timeout, maxResponseBytes: TokenEndpointLocator.maxDocumentBytes,
                                    tlsMetrics: tlsMetrics, completion: completion)
        }
        credentials = ClientCredentialSource(config)
        var prover: DPoPProver?
        var problem: TokenError?
        if let dpop = config.dpop {
            do {
                prover = try DPoPProver.make(dpop)
            } catch {
                problem = error
            }
        }
        dpop = prover
        dpopProblem = problem
        fetcher = OAuthTokenFetcher(
            parameters: TokenRequest.Parameters(
                clientID: config.clientID, authMethod: config.authMethod, scopes: config.scopes,
                audience: config.audience, resources: config.resources, extraParameters: config.extraParameters,
                keyID: config.keyID, signingAlgorithm: config.signingAlgorithm, basicEncoding: config.basicEncoding,
                dpop: prover, dpopProblem: problem),
            locator: locator, credentials: credentials, tls: tls,
            loop: loop, resolver: resolver, timeout: timeout, tlsMetrics: tlsMetrics)
    }
}
