import Logging

/// The relay phase: interim and final heads, then the body, until the response is complete.
extension ClientSession {
    func upstreamDidRead(_ bytes: UnsafeRawBufferPointer, _ exchange: Exchange, _ attempt: UpstreamAttempt) {
        if attempt.relay != nil {
            attempt.connection.deadline = EventLoop.deadline(after: exchange.route.settings.responseTimeout)
            relayResponseBody(bytes, exchange, attempt)
        } else if attempt.partialHead.isEmpty {
            // `upstream.response_timeout` runs from the request to the final head: neither a head
            // trickling in nor a stream of 1xx answers extends it.
            // The common case: the head is parsed where the read left it; only a partial head is kept.
            relayAfterHeads(bytes, exchange, attempt)
        } else {
            let buffered = attempt.partialHead + Array(bytes)
            attempt.partialHead = []
            buffered.withUnsafeBytes { relayAfterHeads($0, exchange, attempt) }
        }
    }

    /// Parses the heads at the start of `bytes` (interim ones, then the final one) and relays
    /// what follows as body; keeps a partial head for the next read.
    private func relayAfterHeads(_ bytes: UnsafeRawBufferPointer, _ exchange: Exchange, _ attempt: UpstreamAttempt) {
        guard let used = takeResponseHeads(bytes, exchange, attempt) else { return }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
        switch phase {
        case .tunneling(let exchange, let attempt):
            if !rest.isEmpty { tunnel(rest, toUpstream: false, exchange, attempt) }  // the first frames came with the 101
        case .exchanging(_, let current) where current === attempt:
            if attempt.relay == nil {
                attempt.partialHead.append(bytes: rest)
            } else if rest.isEmpty {
                finishIfResponseComplete(exchange, attempt)
            } else {
                relayResponseBody(rest, exchange, attempt)
            }
        default:
            return
        }
    }

    static let maxInterimResponses = SizeLimits.interimResponses

    /// Takes heads from the start of `bytes` until the final one has been sent to the client or
    /// the bytes end within a head. Returns how many bytes the heads took, or nil when the
    /// exchange ended or moved on (an invalid answer, a replay after a 401).
    private func takeResponseHeads(_ bytes: UnsafeRawBufferPointer, _ exchange: Exchange, _ attempt: UpstreamAttempt) -> Int? {
        var offset = 0
        while attempt.relay == nil {
            let parsed: (head: ResponseHead, consumed: Int)?
            do {
                parsed = try HeadParser.parseResponseHead(UnsafeRawBufferPointer(rebasing: bytes[offset...]),
                                                          limits: context.settings.upstreamHTTPLimits)
            } catch {
                upstreamFailed(.upstreamInvalidResponse(error.detail))
                return nil
            }
            guard let (head, consumed) = parsed else { return offset }
            offset += consumed
            if head.status < 200 {
                // RFC 9110 §15.2: 100 and 103 go to HTTP/1.1 clients. 101 is final: it opens a
                // WebSocket tunnel, and is a protocol error to any other request.
                if head.status == 101 {
                    if openTunnel(after: head, exchange, attempt) { return offset }
                    upstreamFailed(.upstreamInvalidResponse(exchange.isWebSocket
                        ? "101 Switching Protocols to something other than websocket"
                        : "101 Switching Protocols without an Upgrade request"))
                    return nil
                }
                guard attempt.interims < Self.maxInterimResponses else {
                    upstreamFailed(.upstreamInvalidResponse("more than \(Self.maxInterimResponses) interim (1xx) responses"))
                    return nil
                }
                attempt.interims += 1
                if exchange.head.version == .http1_1 {
                    client.write(exchange.route.rules.clientInterimHead(for: head))
                    client.flush()
                }
                continue
            }
            if exchange.route.dpop != nil { noteDPoPNonce(head, route: exchange.route) }
            if head.status == 401, retryWithDPoPNonce(after: head, exchange, attempt) || retryWithNewToken(after: head, exchange, attempt) {
                return nil
            }
            exchange.upload.kept = nil  // the final answer is here: no replay can follow
            let framing: BodyFraming
            do {
                framing = try head.bodyFraming(requestMethodIsHEAD: exchange.head.isHEAD)
            } catch {
                upstreamFailed(.upstreamInvalidResponse(error.detail))
                return nil
            }
            let clientFraming = ForwardingRules.clientFraming(for: framing, clientVersion: exchange.head.version)
            if clientFraming == .untilClose || !exchange.upload.isComplete {
                exchange.clientKeepAlive = false
            }
            attempt.relay = ResponseRelay(
                head: head, body: BodyDecoder(framing: framing, limits: context.settings.upstreamHTTPLimits),
                clientFraming: clientFraming)
            attempt.connection.deadline = EventLoop.deadline(after: exchange.route.settings.responseTimeout)  // now: silence within the body
            let connection = ForwardingRules.ClientConnection(open: exchange.clientKeepAlive, clientVersion: exchange.head.version)
            let route = exchange.route
            client.write(estimate: route.rules.clientHeadEstimate(for: head)) { out in
                route.rules.writeClientHead(for: head, framing: clientFraming, connection: connection, to: &out)
            }
        }
        return offset
    }

    private func relayResponseBody(_ bytes: UnsafeRawBufferPointer, _ exchange: Exchange, _ attempt: UpstreamAttempt) {
        guard var relay = attempt.relay else { return }
        let chunked = relay.clientFraming == .chunked
        var sent = 0
        let used: Int
        do {
            used = try relay.body.decode(bytes) { payload in
                sent += payload.count
                if chunked { client.writeChunk(payload) } else { client.write(payload) }
            }
        } catch {
            upstreamFailed(.upstreamInvalidResponse(error.detail))
            return
        }
        exchange.responseBytesSent += sent
        if used < bytes.count {
            // RFC 9112 §6.3: bytes after the end of the response (a body longer than its
            // Content-Length, a body on a 204, 304 or HEAD answer) are dropped, never taken as
            // the next response; the server's framing disagrees with ours, so that connection
            // must not carry another request either.
            relay.overran = true
            context.logger.warning("upstream sent bytes after the end of its response; connection not reused",
                                   metadata: ["extra_bytes": "\(bytes.count - used)"])
        }
        attempt.relay = relay
        finishIfResponseComplete(exchange, attempt)
    }

    private func finishIfResponseComplete(_ exchange: Exchange, _ attempt: UpstreamAttempt) {
        guard let relay = attempt.relay else { return }
        if relay.body.isComplete {
            if relay.clientFraming == .chunked { client.writeLastChunk() }
            client.flush()
            end(.relayed(upstreamReusable: exchange.upload.isComplete && !relay.overran))
        } else {
            client.flush()
            updateReading()
        }
    }

    /// The upstream's FIN: the end of a body delimited by close, else a response cut short.
    func upstreamDidReadEOF(_ exchange: Exchange, _ attempt: UpstreamAttempt) {
        guard var relay = attempt.relay else {
            upstreamFailed(.upstreamClosed("upstream closed the connection before answering"))
            return
        }
        do {
            try relay.body.finishAtEOF()
        } catch {
            // Truncated body: the client must see the connection end, not a short "complete" body.
            upstreamFailed(.upstreamClosed("upstream closed mid-response: \(error.detail)"))
            return
        }
        attempt.relay = relay
        client.flush()
        end(.relayed(upstreamReusable: false))
    }
}
