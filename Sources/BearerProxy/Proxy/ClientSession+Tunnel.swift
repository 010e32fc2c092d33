/// WebSocket: the handshake goes upstream like any request, with the route's token; its 101
/// turns both connections into one byte stream each way until either side closes or the tunnel
/// is silent for `timeouts.tunnel_idle`. The token is checked by the upstream at the handshake
/// only, so one that expires while the tunnel is open does not cut it.
extension ClientSession {
    /// RFC 6455 §4.1 and RFC 9110 §7.8: an HTTP/1.1 GET whose `Upgrade` names websocket and whose
    /// `Connection` lists `upgrade` (without it, `Upgrade` is not meant for this hop).
    static func isWebSocketHandshake(_ head: RequestHead) -> Bool {
        head.version == .http1_1 && head.methodIs("GET")
            && head.hasToken("websocket", inFieldsNamed: "upgrade")
            && head.hasToken("upgrade", inFieldsNamed: "connection")
    }

    /// The upstream answered the handshake with 101: checks it switched to WebSocket, sends the
    /// client its 101, and starts relaying. False when the answer is not a valid switch.
    func openTunnel(after response: ResponseHead, of exchange: Exchange) -> Bool {
        guard exchange.webSocket, response.hasToken("websocket", inFieldsNamed: "upgrade") else { return false }
        exchange.response = response
        exchange.replayBody = nil
        exchange.upstreamHead = []
        client.write(exchange.route.rules.clientHead(for: response, framing: .none, connection: .webSocket))
        client.flush()
        exchange.responseHeadSent = true
        state = .tunneling
        context.logger.debug("WebSocket tunnel open", metadata: ["route": "\(exchange.route.label)"])
        refreshTunnelDeadlines()
        // Bytes the client sent after its handshake (a first frame, sent early) go up now.
        if !input.isEmpty {
            let early = input
            input = []
            early.withUnsafeBytes { tunnel($0, toUpstream: true) }
        }
        // A client that half-closed before the 101 sends nothing more: the tunnel ends as it
        // would had the FIN come after it.
        if clientSentEOF { closeTunnel(graceful: true, reason: "client closed before the switch") }
        return true
    }

    /// Relays `bytes` to the other side; reading stops on a side whose peer does not keep up
    /// (`updateReading`), so a tunnel holds at most the high-water mark each way.
    func tunnel(_ bytes: UnsafeRawBufferPointer, toUpstream: Bool) {
        guard let exchange, let upstream = exchange.upstream else { return }
        if toUpstream {
            exchange.requestBytesForwarded += UInt64(bytes.count)
            upstream.write(bytes)
            upstream.flush()
        } else {
            exchange.responseBytesSent += bytes.count
            client.write(bytes)
            client.flush()
        }
        refreshTunnelDeadlines()
    }

    /// Either side's traffic keeps the whole tunnel alive.
    func refreshTunnelDeadlines() {
        let deadline = EventLoop.deadline(after: context.settings.tunnelIdleTimeout)
        client.deadline = deadline
        exchange?.upstream?.deadline = deadline
    }

    /// One side closed, failed or the tunnel was silent too long: what is queued for the other side
    /// is still delivered, then both close. Logged once, as the handshake's 101 with the bytes
    /// each way.
    func closeTunnel(graceful: Bool, reason: String) {
        guard state == .tunneling, let exchange else { return }
        context.logger.debug("WebSocket tunnel closed", metadata: ["route": "\(exchange.route.label)", "reason": "\(reason)"])
        logAccess(exchange, status: 101)
        if graceful { exchange.upstream?.closeAfterFlush() } else { exchange.upstream?.close() }
        exchange.upstream = nil
        close(graceful: graceful)
    }
}
