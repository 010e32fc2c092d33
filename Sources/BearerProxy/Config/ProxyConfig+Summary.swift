extension ProxyConfig {
    /// Human-readable facts for `check-config`, one per line, secret-free by construction:
    /// the secret appears only as its source. Dangerous settings get `WARNING:` lines at the end.
    public func summary() -> [String] {
        let d = ConfigDuration.format
        let hosts = ["localhost", "127.0.0.1", "[::1]"] + allowedHosts
        let upstreamCheck = verification(upstream.url, caFile: upstream.caFile, skip: upstream.insecureSkipVerify)
        let tokenCheck = verification(token.url, caFile: token.caFile, skip: token.insecureSkipVerify)
        let margin = token.refreshMargin.map(d) ?? "min(60s, 10% of lifetime)"
        let scopes = token.scopes.isEmpty ? "(none)" : token.scopes.joined(separator: " ")
        let adminText = admin.map { "\($0.listen) (/healthz, /readyz, /metrics)" } ?? "disabled"

        var lines: [String] = []
        lines.append("listen: \(listen) (plain HTTP)")
        lines.append("workers: \(workers)")
        lines.append("accepted Host values: \(hosts.joined(separator: ", "))")
        lines.append("upstream: \(upstream.url) (\(upstreamCheck))")
        lines.append("upstream timeouts: connect \(d(upstream.connectTimeout)), response \(d(upstream.responseTimeout))")
        lines.append("upstream pool: \(upstream.poolMaxIdle) idle per event loop, idle timeout \(d(upstream.poolIdleTimeout))")
        lines.append("token url: \(token.url) (\(tokenCheck))")
        lines.append("client_id: \(token.clientID)")
        lines.append("auth method: \(token.authMethod.rawValue)")
        lines.append("client secret: \(secretOrigin)")
        lines.append("scopes: \(scopes)")
        lines.append("token timeout: \(d(token.timeout)), refresh margin: \(margin), default lifetime: \(d(token.defaultLifetime))")
        lines.append("admin: \(adminText)")
        lines.append("limits: request line \(limits.maxRequestLine) bytes, head \(limits.maxHeaderBytes) bytes, \(limits.maxHeaderCount) header fields")
        lines.append("timeouts: header read \(d(timeouts.headerRead)), idle \(d(timeouts.idle)), body read \(d(timeouts.bodyRead))")
        lines.append("log: \(log.level), \(log.format.rawValue), access log \(log.access ? (log.accessQuery ? "on (with query)" : "on") : "off")")
        lines.append("drain timeout: \(d(drainTimeout))")
        lines += warnings()
        return lines
    }

    private var secretOrigin: String {
        switch token.secretSource {
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
        if upstream.insecureSkipVerify, upstream.url.isTLS {
            lines.append("WARNING: upstream.insecure_skip_verify is true: the upstream certificate is NOT verified; "
                + "anyone on the network path can impersonate \(upstream.url.host) and read bearer tokens")
        }
        if !upstream.url.isTLS {
            lines.append("WARNING: upstream.url uses plain http (insecure_http): bearer tokens and request data "
                + "cross the network unencrypted")
        }
        if token.insecureSkipVerify, token.url.isTLS {
            lines.append("WARNING: token.insecure_skip_verify is true: the token endpoint certificate is NOT verified; "
                + "anyone on the network path can impersonate \(token.url.host) and steal the client secret")
        }
        if !token.url.isTLS {
            lines.append("WARNING: token.url uses plain http (insecure_http): the client secret and tokens "
                + "cross the network unencrypted")
        }
        if !listen.isLoopback {
            lines.append("WARNING: listen \(listen) is not a loopback address: anyone who can reach it "
                + "sends requests with this client's token")
        }
        return lines
    }
}
