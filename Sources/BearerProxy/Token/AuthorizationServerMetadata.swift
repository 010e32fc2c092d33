/// The parts of an OpenID Provider / OAuth authorization server metadata document bearer-proxy
/// uses (OIDC Discovery §3, RFC 8414 §2), validated against the configured issuer.
struct AuthorizationServerMetadata: Sendable, Equatable {
    var issuer: String
    var tokenEndpoint: EndpointURL
    /// RFC 8414 §2: when absent, the default is client_secret_basic.
    var authMethodsSupported: [String]

    /// Parses and checks the document: RFC 8414 §3.3 / OIDC Discovery §4.3 require the `issuer`
    /// to be identical to the one asked for (compared here after URL normalization, and ignoring a
    /// trailing slash, which providers such as Auth0 add), so a document from elsewhere is refused.
    static func parse(
        _ body: [UInt8], expectedIssuer: EndpointURL, method: ClientAuthMethod, allowHTTP: Bool
    ) throws(TokenError) -> AuthorizationServerMetadata {
        guard let json = (try? JSONValue.parse(body))?.object else {
            throw .invalidResponse("metadata document is not a JSON object")
        }
        guard let issuer = json["issuer"]?.string else {
            throw .discovery("metadata has no issuer")
        }
        guard let parsed = try? EndpointURL.parse(issuer, role: .endpoint), same(parsed, expectedIssuer) else {
            throw .discovery("metadata issuer \"\(issuer.prefix(200))\" does not match the configured issuer \(expectedIssuer)")
        }
        var endpointText = json["token_endpoint"]?.string
        // RFC 8705 §5: with mutual TLS, a server may name a separate endpoint for it.
        if method == .tlsClientAuth, let alias = json["mtls_endpoint_aliases"]?.object?["token_endpoint"]?.string {
            endpointText = alias
        }
        guard let endpointText else { throw .discovery("metadata has no token_endpoint") }
        guard let endpoint = try? EndpointURL.parse(endpointText, role: .endpoint) else {
            throw .discovery("token_endpoint is not a usable http(s) URL")
        }
        guard endpoint.isTLS || allowHTTP else {
            throw .discovery("token_endpoint \(endpoint) is not https (set token.insecure_http: true to allow)")
        }
        let methods = json["token_endpoint_auth_methods_supported"]?.strings ?? ["client_secret_basic"]
        guard methods.contains(method.registeredName) else {
            let name = method.registeredName == method.rawValue ? method.rawValue : "\(method.registeredName) (which \(method.rawValue) uses)"
            throw .discovery("the server does not offer auth_method \(name); "
                + "token_endpoint_auth_methods_supported: \(methods.joined(separator: ", "))")
        }
        return AuthorizationServerMetadata(issuer: issuer, tokenEndpoint: endpoint, authMethodsSupported: methods)
    }

    /// Where to look, in order: OIDC Discovery §4 appends to the issuer's path; RFC 8414 §3.1
    /// inserts the well-known segment between host and path.
    static func documentURLs(for issuer: EndpointURL) -> [EndpointURL] {
        var path = issuer.path
        while path.hasSuffix("/") { path.removeLast() }
        var oidc = issuer
        oidc.path = path + "/.well-known/openid-configuration"
        var oauth = issuer
        oauth.path = "/.well-known/oauth-authorization-server" + path
        return [oidc, oauth]
    }

    private static func same(_ a: EndpointURL, _ b: EndpointURL) -> Bool {
        func trimmed(_ path: String) -> String {
            var path = path
            while path.hasSuffix("/") { path.removeLast() }
            return path
        }
        return a.scheme == b.scheme && a.host == b.host && a.port == b.port && trimmed(a.path) == trimmed(b.path)
    }
}
