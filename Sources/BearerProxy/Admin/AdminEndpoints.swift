/// The admin listener: `/healthz` (the process and its loops answer) and `/readyz` (a valid
/// token is cached, so proxied requests will not wait or fail for lack of one).
enum AdminEndpoints {
    static func start(listen address: SocketAddress, group: EventLoopGroup, tokens: TokenProvider) throws(IOError) -> LocalHTTPServer {
        try LocalHTTPServer(listen: address, group: group, label: "bearer-proxy.admin") { request in
            let path = request.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
            guard request.method == "GET" || request.method == "HEAD" else {
                return .json(405, "{\"error\":\"method_not_allowed\"}", extraFields: [("Allow", "GET, HEAD")])
            }
            switch path {
            case "/healthz":
                return .json(200, "{\"status\":\"ok\"}\n")
            case "/readyz":
                let status = tokens.status
                if status.hasValidToken {
                    let seconds = Int(status.secondsUntilExpiry ?? 0)
                    return .json(200, "{\"status\":\"ready\",\"token_expires_in\":\(seconds)}\n")
                }
                let why = status.lastFailure ?? "no token fetched yet"
                return .json(503, "{\"status\":\"not_ready\",\"reason\":\"\(ErrorResponse.escapeJSON(why))\"}\n")
            default:
                return .json(404, "{\"error\":\"not_found\"}\n")
            }
        }
    }
}
