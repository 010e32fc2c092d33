/// The phase between a complete head and the token: admit the request and choose its route.
/// Everything refused here is refused before a token is asked for, and goes nowhere.
extension ClientSession {
    /// A complete head: admitted and routed, it becomes the `Exchange` that waits for its token.
    func begin(_ head: RequestHead) {
        // A head that began before a reload is routed on the configuration in force now.
        adoptLatestContext()
        let exchange: Exchange
        do {
            exchange = try admit(head)
        } catch {
            end(.failed(error), refusing: head)
            return
        }
        phase = .waitingForToken(exchange)
        client.deadline = 0
        if let ready = exchange.route.tokenIfReady() {
            tokenArrived(ready, for: exchange)
        } else {
            exchange.route.tokens.token(on: loop) { [self] result in
                loop.assertOnLoop()
                tokenArrived(result, for: exchange)
            }
        }
    }

    /// What the proxy refuses: methods it does not forward, protocol switches, targets it cannot
    /// rewrite safely, foreign hosts and pages, requests no route takes, and bodies it cannot frame
    /// or will not take. Otherwise the request, routed.
    private func admit(_ head: RequestHead) throws(ProxyError) -> Exchange {
        if head.isCONNECT { throw .methodNotAllowed("CONNECT") }
        // RFC 9110 §9.3.8: a TRACE response echoes the request as the server received it, so
        // forwarding one would hand the bearer token to the local client, and a client MUST NOT
        // put stored credentials in a TRACE request.
        if head.isTRACE { throw .methodNotAllowed("TRACE") }
        // RFC 9110 §7.8: a server may ignore Upgrade. h2c is dropped silently (the request goes on
        // as HTTP/1.1); a WebSocket handshake is forwarded, and its 101 opens a tunnel; any other
        // protocol switch is refused.
        let webSocket = Self.isWebSocketHandshake(head)
        if !webSocket, head.count(named: .upgrade) > 0, !Self.onlyH2CUpgrade(head) { throw .upgradeNotSupported }
        guard let form = ForwardingRules.targetForm(of: head) else { throw .badRequest(.invalidTarget) }
        if ForwardingRules.hasDotSegment(head, form: form) { throw .badRequest(.dotSegmentInPath) }
        let route = try chooseRoute(head, form: form)
        try checkOrigin(head)
        let framing: BodyFraming
        do {
            framing = try head.bodyFraming()
        } catch {
            throw .badRequest(error)
        }
        if let limit = context.settings.maxBodySize, case .contentLength(let length) = framing, length > limit {
            throw .bodyTooLarge(limit)
        }
        // RFC 6455 §4.1: the handshake is a GET; a body would sit between it and the first frame.
        if webSocket, framing != .none, framing != .contentLength(0) { throw .badRequest(.bodyOnUpgrade) }
        // RFC 9112 §9.3: HTTP/1.1 persists unless `close`; an HTTP/1.0 client asks with `keep-alive`
        // (Appendix C.2.2), as ab and older Java and PHP stacks do.
        let close = head.hasToken("close", inFieldsNamed: .connection)
        let keepAlive = head.version == .http1_1 ? !close : head.hasToken("keep-alive", inFieldsNamed: .connection) && !close
        return Exchange(head: head, route: route, targetForm: form, framing: framing, isWebSocket: webSocket,
                        keepAlive: keepAlive, limits: context.settings.httpLimits, startedAt: EventLoop.now())
    }

    /// The route of a request, from the authority it names (an absolute-form target's, which
    /// RFC 9112 §3.2.2 puts before Host, else the Host field) and its path. The authority must be
    /// a local name, an `allowed_hosts` entry or a route's host (421 otherwise: see
    /// `HostAllowlist`); a request that no route takes is answered 404 and goes nowhere.
    private func chooseRoute(_ head: RequestHead, form: ForwardingRules.TargetForm) throws(ProxyError) -> RouteContext {
        // HTTP/1.0 requests may omit Host; the parser requires exactly one in HTTP/1.1.
        let authority = form == .absolute ? ForwardingRules.authority(of: head.raw[head.target]) : head.firstValue(named: .host)
        let defaultPort: UInt16 = form == .absolute && ForwardingRules.isHTTPS(head.raw[head.target]) ? 443 : 80
        var name: String?
        var port: UInt16?
        if let authority {
            guard let (hostName, hostPort) = HostAllowlist.split(authority),
                  context.hosts.allows(name: hostName, port: hostPort)
                    || context.table.takesHost(hostName, port: hostPort, defaultPort: defaultPort) else {
                throw .misdirected(String(decoding: authority.prefix(100), as: UTF8.self))
            }
            (name, port) = (hostName, hostPort)
        }
        let path = ForwardingRules.routingPath(of: head, form: form)
        guard let index = context.table.route(name: name, port: port, defaultPort: defaultPort, path: path) else {
            throw .noRoute(host: String(decoding: (authority ?? []).prefix(100), as: UTF8.self),
                           path: String(decoding: path.prefix(200), as: UTF8.self))
        }
        return context.routes[index]
    }

    /// Browsers send `Origin` with every cross-site request and every WebSocket handshake, and
    /// do not apply the same-origin rule to WebSockets or to simple requests: without this, any
    /// web page open on this machine could send requests through the proxy with the client's
    /// token (and read the answers of a WebSocket, or of an upstream that allows any origin).
    /// Programs do not send `Origin`; a page served from a local name, an `allowed_hosts` name or
    /// a route's host may (on any port). `Origin: null` (sandboxed frames, files) is foreign.
    private func checkOrigin(_ head: RequestHead) throws(ProxyError) {
        for field in head.fields where head.fieldNameIs(field, "origin") {
            let origin = head.value(field)
            guard let schemeEnd = origin.firstRange(of: Array("://".utf8)),
                  let (name, _) = HostAllowlist.split(origin[schemeEnd.upperBound...]),
                  context.hosts.contains(name: name) || context.table.namesHost(name) else {
                throw .foreignOrigin(String(decoding: origin.prefix(100), as: UTF8.self))
            }
        }
    }

    static func onlyH2CUpgrade(_ head: RequestHead) -> Bool {
        for field in head.fields where field.known == .upgrade {
            let value = head.value(field).map(asciiLowercased)
            if value != Array("h2c".utf8) { return false }
        }
        return true
    }
}
