/// WebSocket: the handshake goes upstream like any request, with the route's token; its 101
/// turns both connections into one byte stream each way until either side closes or the tunnel
/// is silent for `timeouts.tunnel_idle`. The token is checked by the upstream at the handshake
/// only, so one that expires while the tunnel is open does not cut it.
extension ClientSession {
    /// RFC 6455 §4.1 and RFC 9110 §7.8: an HTTP/1.1 GET whose `Upgrade` names websocket and whose
    /// `Connection` lists `upgrade` (without it, `Upgrade` is not meant for this hop).
    static func isWebSocketHandshake(_ head: RequestHead) -> Bool {
        head.version == .http1_1 && head.methodIs("GET")
            && head.hasToken("websocket", inFieldsNamed: .upgrade)
            && head.hasToken("upgrade", inFieldsNamed: .connection)
    }

    /// The upstream answered the handshake with 101: checks it switched to WebSocket, sends the
    /// client its 101, and starts relaying. False when the answer is not a valid switch.
    func openTunnel(after response: ResponseHead, _ exchange: Exchange, _ attempt: UpstreamAttempt) -> Bool {
        guard exchange.isWebSocket, response.hasToken("websocket", inFieldsNamed: .upgrade) else { return false }
        exchange.upload.kept = nil
        attempt.relay = ResponseRelay(head: response, body: BodyDecoder(framing: .none), clientFraming: .none)
        client.write(exchange.route.rules.clientHead(for: response, framing: .none, connection: .webSocket))
        client.flush()
        phase = .tunneling(exchange, attempt)
        context.logger.debug("WebSocket tunnel open", metadata: ["route": "\(exchange.route.label)"])
        refreshTunnelDeadlines(attempt)
        // Bytes the client sent after its handshake (a first frame, sent early) go up now.
        if !input.isEmpty {
            let early = input
            input = []
            early.withUnsafeBytes { tunnel($0, toUpstream: true, exchange, attempt) }
        }
        // A client that half-closed before the 101 sends nothing more: the tunnel ends as it
        // would had the FIN come after it.
        if clientSentEOF { end(.tunnelClosed(graceful: true)) }
        return true
    }

    /// Relays `bytes` to the other side; reading stops on a side whose peer does not keep up
    /// (`updateReading`), so a tunnel holds at most the high-water mark each way.
    func tunnel(_ bytes: UnsafeRawBufferPointer, toUpstream: Bool, _ exchange: Exchange, _ attempt: UpstreamAttempt) {
        if toUpstream {
            exchange.upload.forwarded += UInt64(bytes.count)
            attempt.connection.write(bytes)
            attempt.connection.flush()
        } else {
            exchange.responseBytesSent += bytes.count
            client.write(bytes)
            client.flush()
        }
        refreshTunnelDeadlines(attempt)
    }

    /// Either side's traffic keeps the whole tunnel alive.
    private func refreshTunnelDeadlines(_ attempt: UpstreamAttempt) {
        let deadline = EventLoop.deadline(after: context.settings.tunnelIdleTimeout)
        client.deadline = deadline
        attempt.connection.deadline = deadline
    }
}
