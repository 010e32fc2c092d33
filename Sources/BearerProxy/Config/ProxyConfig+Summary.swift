import BearerTLS

extension ProxyConfig {
    /// Human-readable facts for `check-config`, one per line, secret-free by construction:
    /// the secret appears only as its source. Dangerous settings get `WARNING:` lines at the end.
    public func summary() -> [String] {
        let d = ConfigDuration.format
        let routeHosts = routes.compactMap { $0.match.host.map { host in host.contains(":") ? "[\(host)]" : host } }
        let hosts = ["localhost", "127.0.0.1", "[::1]"] + allowedHosts + routeHosts
        let adminText = admin.map { "\($0.listen) (/healthz, /readyz, /metrics)" } ?? "disabled"

        var lines: [String] = []
        lines.append("listen: \(listen) (plain HTTP)")
        lines.append("workers: \(workers)")
        lines.append("accepted Host values: \(hosts.joined(separator: ", "))")
        if usesRoutes {
            lines.append("routes, in the order they are tried (host routes first, then the longest path prefix):")
            for route in routesInMatchingOrder {
                let strip = route.stripPrefix ? ", strips \(route.match.prefixStem)" : ""
                lines.append("  route \(route.label): \(route.match) -> \(route.upstream.url) (token \(route.token)\(strip))")
            }
            lines.append("  anything else: 404, forwarded nowhere")
            for route in routes {
                lines += upstreamLines(route.upstream).map { "route \(route.label) \($0)" }
            }
            for profile in tokenProfiles {
                lines += tokenLines(profile.config).map { "profile \(profile.name) \($0)" }
            }
        } else {
            lines += upstreamLines(upstream)
            lines += tokenLines(token)
        }
        lines.append("admin: \(adminText)")
        lines.append("limits: request line \(limits.maxRequestLine) bytes, head \(limits.maxHeaderBytes) bytes, \(limits.maxHeaderCount) header fields")
        lines.append("timeouts: header read \(d(timeouts.headerRead)), idle \(d(timeouts.idle)), body read \(d(timeouts.bodyRead))")
        lines.append("log: \(log.level), \(log.format.rawValue), access log \(log.access ? (log.accessQuery ? "on (with query)" : "on") : "off")")
        lines.append("drain timeout: \(d(drainTimeout))")
        lines += warnings()
        return lines
    }

    /// The routes in the order a request tries them: host routes, then host-less ones, each
    /// longest prefix first (`RouteMatch.matchingOrder`, the order requests try them).
    var routesInMatchingOrder: [RouteConfig] {
        RouteMatch.matchingOrder(routes.map(\.match)).map { routes[$0] }
    }

    private func upstreamLines(_ upstream: UpstreamConfig) -> [String] {
        let d = ConfigDuration.format
        let check = verification(upstream.url, caFile: upstream.caFile, skip: upstream.insecureSkipVerify)
        var lines = [
            "upstream: \(upstream.url) (\(check))",
            "upstream timeouts: connect \(d(upstream.connectTimeout)), response \(d(upstream.responseTimeout))",
            "upstream pool: \(upstream.poolMaxIdle) idle per event loop, idle timeout \(d(upstream.poolIdleTimeout))",
        ]
        if let certificate = upstream.clientCertificateFile, let key = upstream.clientKeyFile {
            lines.append("upstream client certificate: file \(certificate), \(Self.readability(certificate)); "
                + "key file \(key), \(Self.readability(key)); re-read on change")
        }
        return lines
    }

    private func tokenLines(_ token: TokenConfig) -> [String] {
        let d = ConfigDuration.format
        let tokenCheck = verification((token.url ?? token.issuer)!, caFile: token.caFile, skip: token.insecureSkipVerify)
        let margin = token.refreshMargin.map(d) ?? "min(60s, 10% of lifetime)"
        let scopes = token.scopes.isEmpty ? "(none)" : token.scopes.joined(separator: " ")
        var lines: [String] = []
        if let url = token.url {
            lines.append("token url: \(url) (\(tokenCheck))")
        } else if let issuer = token.issuer {
            lines.append("token issuer: \(issuer) (endpoint found by discovery; \(tokenCheck))")
        }
        lines.append("client_id: \(token.clientID)")
        lines.append("auth method: \(token.authMethod.rawValue)"
            + (token.authMethod == .clientSecretBasic ? " (basic_encoding: \(token.basicEncoding.rawValue))" : ""))
        lines += credentialLines(token)
        if let dpop = token.dpop {
            lines.append("dpop: \(dpop.algorithm.rawValue) proofs, " + (dpop.keyFile.map { "key file \($0)" } ?? "key made at start, in memory only")
                + "; token_type DPoP required")
        }
        lines.append("scopes: \(scopes)")
        if let audience = token.audience { lines.append("audience: \(audience)") }
        if !token.resources.isEmpty { lines.append("resource: \(token.resources.joined(separator: " "))") }
        if !token.extraParameters.isEmpty {
            // Names only: an extra parameter may carry something sensitive.
            lines.append("extra parameters: \(token.extraParameters.map(\.name).joined(separator: ", "))")
        }
        lines.append("token timeout: \(d(token.timeout)), refresh margin: \(margin), default lifetime: \(d(token.defaultLifetime))")
        if let shared = token.sharedCache { lines.append(sharedCacheLine(shared, token: token)) }
        return lines
    }

    private func sharedCacheLine(_ shared: SharedCacheConfig, token: TokenConfig) -> String {
        var parts = ["shared token cache: \(shared.server)"]
        if shared.server.isTLS {
            parts[0] += shared.insecureSkipVerify ? " (TLS, certificate NOT verified)"
                : " (TLS, verified against " + (shared.caFile.map { "ca_file \($0)" } ?? "system trust store") + ")"
        }
        if let passwordFile = shared.passwordFile {
            parts.append("AUTH " + (shared.username.map { "as \($0) " } ?? "") + "with password file \(passwordFile), \(Self.readability(passwordFile))")
        }
        parts.append("sealed with key_file \(shared.keyFile) (32 bytes)")
        parts.append("key prefix \(shared.keyPrefix)")
        parts.append("lease \(ConfigDuration.format(token.timeout))")
        if token.dpop != nil, token.dpop?.keyFile == nil {
            parts.append("WARNING: dpop has no key_file, so each replica has its own key and DPoP-bound tokens are not shared")
        }
        return parts.joined(separator: "; ")
    }

    /// Which credential the method uses and whether its files are readable; never a value.
    private func credentialLines(_ token: TokenConfig) -> [String] {
        switch token.authMethod {
        case .clientSecretBasic, .clientSecretPost, .clientSecretJWT:
            return ["client secret: \(secretOrigin(token))"]
        case .privateKeyJWT:
            let path = token.privateKeyFile ?? "-"
            return ["private key: file \(path), \(Self.readability(path)), signing_alg \(token.signingAlgorithm?.rawValue ?? "-")"
                + (token.keyID.map { ", key_id \($0)" } ?? "")]
        case .federatedJWT:
            let path = token.assertionFile ?? "-"
            return ["assertion: file \(path), \(Self.readability(path)), re-read for every token request"]
        case .tlsClientAuth:
            let certificate = token.clientCertificateFile ?? "-"
            let key = token.clientKeyFile ?? "-"
            return ["client certificate: file \(certificate), \(Self.readability(certificate))",
                    "client key: file \(key), \(Self.readability(key))"]
        }
    }

    private static func readability(_ path: String) -> String {
        ConfigFiles.isReadable(path) ? "readable" : "NOT readable now"
    }

    private func secretOrigin(_ token: TokenConfig) -> String {
        switch token.secretSource {
        case nil:
            return "none"
        case .file(let path):
            return "file \(path), " + (ConfigFiles.isReadable(path) ? "readable" : "NOT readable now")
        case .inline:
            return "inline in config"
        case .environment(let variable):
            return "environment \(variable)"
        }
    }

    private func verification(_ url: EndpointURL, caFile: String?, skip: Bool) -> String {
        if !url.isTLS { return "plain http, no TLS" }
        if skip { return "certificate NOT verified" }
        return "certificate verified against " + (caFile.map { "ca_file \($0)" } ?? "system trust store")
    }

    private func warnings() -> [String] {
        var lines: [String] = []
        for route in routes {
            let upstream = route.upstream
            let key = usesRoutes ? "routes[\(route.label)]" : "upstream"
            if upstream.insecureSkipVerify, upstream.url.isTLS {
                lines.append("WARNING: \(key).insecure_skip_verify is true: the upstream certificate is NOT verified; "
                    + "anyone on the network path can impersonate \(upstream.url.host) and read bearer tokens")
            }
            if !upstream.url.isTLS {
                lines.append("WARNING: \(key).url uses plain http (insecure_http): bearer tokens and request data "
                    + "cross the network unencrypted")
            }
        }
        lines += certificateBindingWarnings()
        for profile in tokenProfiles {
            let token = profile.config
            let key = usesRoutes && tokenProfiles.count > 1 || profile.name != TokenProfile.defaultName ? "tokens.\(profile.name)" : "token"
            let tokenURL = (token.url ?? token.issuer)!
            if token.insecureSkipVerify, tokenURL.isTLS {
                lines.append("WARNING: \(key).insecure_skip_verify is true: the token endpoint certificate is NOT verified; "
                    + "anyone on the network path can impersonate \(tokenURL.host) and steal the client secret")
            }
            if !tokenURL.isTLS {
                lines.append("WARNING: \(key).url uses plain http (insecure_http): the client secret and tokens "
                    + "cross the network unencrypted")
            }
        }
        if !listen.isLoopback {
            lines.append("WARNING: listen \(listen) is not a loopback address: anyone who can reach it "
                + "sends requests with this client's token")
        }
        return lines
    }

    /// A token endpoint that authenticates the client by its certificate (tls_client_auth) may
    /// bind the token to it (RFC 8705 §3: `cnf.x5t#S256`); a resource server that checks the
    /// binding then refuses the token from any connection that does not present that certificate.
    private func certificateBindingWarnings() -> [String] {
        var lines: [String] = []
        for route in routes {
            guard let profile = tokenProfiles.first(where: { $0.name == route.token }),
                  profile.config.authMethod == .tlsClientAuth, route.upstream.url.isTLS else { continue }
            let key = usesRoutes ? "routes[\(route.label)]" : "upstream"
            let profileKey = usesRoutes ? "tokens.\(profile.name)" : "token"
            guard let upstreamCertificate = route.upstream.clientCertificateFile else {
                lines.append("WARNING: \(profileKey) authenticates with a client certificate (tls_client_auth) and \(key) presents none: "
                    + "if the token endpoint binds tokens to that certificate (RFC 8705 §3; `bearer-proxy token` shows cnf.x5t#S256), "
                    + "the upstream refuses them; set \(key).client_cert_file and client_key_file to the same files")
                continue
            }
            if let tokenCertificate = profile.config.clientCertificateFile,
               let upstreamThumbprint = Self.leafThumbprint(upstreamCertificate),
               let tokenThumbprint = Self.leafThumbprint(tokenCertificate), upstreamThumbprint != tokenThumbprint {
                lines.append("WARNING: \(key).client_cert_file is not the certificate \(profileKey) authenticates with: "
                    + "a token bound to that one (RFC 8705 §3) is refused by an upstream that checks the binding")
            }
        }
        return lines
    }

    private static func leafThumbprint(_ path: String) -> [UInt8]? {
        guard let contents = try? ConfigFiles.contents(of: path, limit: SizeLimits.pemFile).get() else { return nil }
        return try? CertificateThumbprint.sha256(ofLeafInPEM: String(decoding: contents, as: UTF8.self))
    }
}
