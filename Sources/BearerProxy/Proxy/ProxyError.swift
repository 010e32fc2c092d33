/// Everything that can end a proxied request early, with the side that failed.
/// `ErrorResponse` maps each case to a status in one place.
enum ProxyError: Error, Sendable, CustomStringConvertible {
    /// The client sent something we will not forward.
    case badRequest(HTTP1Error)
    case methodNotAllowed(String)
    case upgradeNotSupported
    case misdirected(String)
    /// A browser page's request (`Origin` of a site that is not local, allowed or a route's host).
    case foreignOrigin(String)
    /// No route takes this host and path (both as the request named them, the path without query).
    case noRoute(host: String, path: String)
    case bodyTooLarge(UInt64)
    /// The client did not send its head or body within its timeout.
    case requestTimeout
    /// The client closed or broke its connection before its request was answered: nobody to answer.
    case clientClosed(String)
    /// `limits.max_connections` reached: the connection is refused before a request is read.
    case tooManyConnections
    /// Shutdown reached `drain_timeout` with this request still open: it is cut, unanswered.
    case abandoned
    /// No token: the endpoint failed, rejected us, or is in backoff.
    case tokenUnavailable(TokenError)
    /// Could not reach the upstream, or it broke the protocol.
    case upstreamUnavailable(ConnectionError)
    case upstreamInvalidResponse(String)
    case upstreamTimedOut(String)
    case upstreamClosed(String)

    var side: Side {
        switch self {
        case .badRequest, .methodNotAllowed, .upgradeNotSupported, .misdirected, .foreignOrigin, .noRoute, .bodyTooLarge,
             .requestTimeout, .clientClosed: return .downstream
        case .tokenUnavailable: return .token
        case .tooManyConnections, .abandoned: return .proxy
        case .upstreamUnavailable, .upstreamInvalidResponse, .upstreamTimedOut, .upstreamClosed: return .upstream
        }
    }

    /// Which side failed: the client, the token endpoint, the upstream, or the proxy itself (its
    /// own limits and shutdown).
    enum Side: String, Sendable { case downstream, upstream, token, proxy }

    /// Whether the client is sent an error response (when none has started). Not when it is gone,
    /// nor when shutdown cuts the request.
    var answersClient: Bool {
        switch self {
        case .clientClosed, .abandoned: return false
        default: return true
        }
    }

    var isTimeout: Bool {
        if case .upstreamTimedOut = self { return true }
        return false
    }

    var description: String {
        switch self {
        case .badRequest(let error): return "bad request: \(error.detail)"
        case .methodNotAllowed("CONNECT"):
            return "CONNECT is not proxied: a TLS tunnel cannot carry the injected Authorization header; "
                + "send plain http:// URLs through the proxy, and it speaks TLS to the upstream"
        case .methodNotAllowed(let method): return "method \(method) is not proxied"
        case .upgradeNotSupported: return "protocol upgrade is not supported"
        case .misdirected(let host): return "Host \"\(host)\" is not served here"
        case .foreignOrigin(let origin):
            return "requests from the web page \(origin) are not forwarded: a page must not use this client's token"
        case .noRoute(let host, let path): return "no route for host \"\(host)\" and path \"\(path)\""
        case .bodyTooLarge(let limit): return "request body larger than \(limit) bytes"
        case .requestTimeout: return "the request was not received in time"
        case .clientClosed(let why): return why
        case .tooManyConnections: return "the proxy is at limits.max_connections; retry later"
        case .abandoned: return "cut at shutdown: drain_timeout reached"
        case .tokenUnavailable(let error): return error.description
        case .upstreamUnavailable(let error): return error.description
        case .upstreamInvalidResponse(let why): return "invalid upstream response: \(why)"
        case .upstreamTimedOut(let why): return why
        case .upstreamClosed(let why): return why
        }
    }
}
