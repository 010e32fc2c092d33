/// The one place where a `ProxyError` becomes an HTTP status and a short JSON body.
enum ErrorResponse {
    /// Code 0 for errors that send no response (`ProxyError.answersClient`): the access line
    /// then says 0, as for any request that ended before an answer started.
    static func status(for error: ProxyError) -> (code: Int, reason: String, error: String) {
        switch error {
        case .badRequest(let parse):
            switch parse {
            case .headTooLarge, .tooManyFields: return (431, "Request Header Fields Too Large", "header_too_large")
            case .requestLineTooLong: return (414, "URI Too Long", "request_line_too_long")
            case .unsupportedVersion: return (505, "HTTP Version Not Supported", "http_version_not_supported")
            case .unsupportedTransferEncoding: return (501, "Not Implemented", "unsupported_transfer_encoding")
            default: return (400, "Bad Request", "bad_request")
            }
        case .methodNotAllowed: return (405, "Method Not Allowed", "method_not_allowed")
        case .upgradeNotSupported: return (501, "Not Implemented", "upgrade_not_supported")
        case .misdirected: return (421, "Misdirected Request", "misdirected_request")
        case .noRoute: return (404, "Not Found", "no_route")
        case .foreignOrigin: return (403, "Forbidden", "foreign_origin")
        case .bodyTooLarge: return (413, "Content Too Large", "body_too_large")
        case .requestTimeout: return (408, "Request Timeout", "request_timeout")
        case .tooManyConnections: return (503, "Service Unavailable", "too_many_connections")
        case .clientClosed, .abandoned: return (0, "", "")
        case .tokenUnavailable: return (503, "Service Unavailable", "token_unavailable")
        case .upstreamUnavailable, .upstreamInvalidResponse, .upstreamClosed: return (502, "Bad Gateway", "upstream_unavailable")
        case .upstreamTimedOut: return (504, "Gateway Timeout", "upstream_timeout")
        }
    }

    /// A complete response. Errors from the client's side of the exchange close the connection.
    /// `toHEAD`: the request was HEAD, so the response ends at its head (RFC 9110 §9.3.2).
    static func bytes(for error: ProxyError, connection: ForwardingRules.ClientConnection, toHEAD: Bool = false) -> [UInt8] {
        let (code, reason, name) = status(for: error)
        var extra: [(String, String)] = []
        if code == 405 { extra.append(("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")) }
        if case .tokenUnavailable(let tokenError) = error {
            extra.append(("Retry-After", String(tokenError.retryAfterSeconds)))
        }
        if case .tooManyConnections = error { extra.append(("Retry-After", "1")) }
        if connection == .keepAlive { extra.append(("Connection", "keep-alive")) }
        var members: [(String, String)] = []
        if case .noRoute(let host, let path) = error { members = [("host", host), ("path", path)] }
        return json(status: code, reason: reason, error: name, detail: error.description, members: members,
                    extraFields: extra, close: connection == .close, toHEAD: toHEAD)
    }

    /// With `toHEAD` only the head is sent: its Content-Length is the length a GET would get, and
    /// content after it would be read by the client as the start of the next response.
    /// `members`: more string members of the body, after `error` and `detail`.
    static func json(status: Int, reason: String, error: String, detail: String, members: [(String, String)] = [],
                     extraFields: [(String, String)] = [], close: Bool, toHEAD: Bool = false) -> [UInt8] {
        var text = "{\"error\":\"\(error)\",\"detail\":\"\(JSONText.escaped(detail))\""
        for (name, value) in members { text += ",\"\(name)\":\"\(JSONText.escaped(value))\"" }
        let body = Array((text + "}\n").utf8)
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in extraFields { head += "\(name): \(value)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return toHEAD ? Array(head.utf8) : Array(head.utf8) + body
    }
}

