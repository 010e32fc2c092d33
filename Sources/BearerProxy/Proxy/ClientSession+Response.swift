import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Relaying the upstream's answer: interim and final heads, the body, and the end of an exchange.
extension ClientSession {
    // MARK: Upstream input

    func upstreamDidRead(_ bytes: UnsafeRawBufferPointer) {
        if state == .tunneling {
            tunnel(bytes, toUpstream: false)
            return
        }
        guard let exchange, let upstream = exchange.upstream else { return }
        exchange.upstreamHead = []  // the server has answered: never replay this request
        if exchange.responseBody != nil {
            upstream.deadline = EventLoop.deadline(after: exchange.route.settings.responseTimeout)
            relayResponseBody(bytes)
            return
        }
        // `upstream.response_timeout` runs from the request to the final head: neither a head
        // trickling in nor a stream of 1xx answers extends it.
        if exchange.responseInput.isEmpty {
            // The common case: the head is parsed where the read left it; only a partial head is kept.
            relayAfterHeads(bytes, of: exchange)
        } else {
            exchange.responseInput.append(contentsOf: bytes)
            let buffered = exchange.responseInput
            exchange.responseInput = []
            buffered.withUnsafeBytes { relayAfterHeads($0, of: exchange) }
        }
    }

    /// Parses the heads at the start of `bytes` (interim ones, then the final one) and relays
    /// what follows as body; keeps a partial head in `responseInput` for the next read.
    private func relayAfterHeads(_ bytes: UnsafeRawBufferPointer, of exchange: Exchange) {
        guard let used = parseResponseHeads(bytes), self.exchange === exchange else { return }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
        if state == .tunneling {
            if !rest.isEmpty { tunnel(rest, toUpstream: false) }  // the first frames came with the 101
        } else if exchange.responseBody == nil {
            exchange.responseInput.append(contentsOf: rest)
        } else if rest.isEmpty {
            finishIfResponseComplete()
        } else {
            relayResponseBody(rest)
        }
    }

    static let maxInterimResponses = SizeLimits.interimResponses

    /// Takes heads from the start of `bytes` until the final one has been sent to the client or
    /// the bytes end within a head. Returns how many bytes the heads took, or nil when the
    /// exchange ended or moved on (an invalid answer, a replay after a 401).
    private func parseResponseHeads(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let exchange else { return nil }
        var offset = 0
        while exchange.responseBody == nil {
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
                    if openTunnel(after: head, of: exchange) { return offset }
                    upstreamFailed(.upstreamInvalidResponse(exchange.webSocket
                        ? "101 Switching Protocols to something other than websocket"
                        : "101 Switching Protocols without an Upgrade request"))
                    return nil
                }
                exchange.interimResponses += 1
                if exchange.interimResponses > Self.maxInterimResponses {
                    upstreamFailed(.upstreamInvalidResponse("more than \(Self.maxInterimResponses) interim (1xx) responses"))
                    return nil
                }
                if exchange.head.version == .http1_1 {
                    client.write(exchange.route.rules.clientInterimHead(for: head))
                    client.flush()
                }
                continue
            }
            if head.status == 401, retryWithNewToken(after: head) { return nil }
            exchange.replayBody = nil  // the final answer is here: no replay can follow
            let framing: BodyFraming
            do {
                framing = try head.bodyFraming(requestMethodIsHEAD: exchange.head.isHEAD)
            } catch {
                upstreamFailed(.upstreamInvalidResponse(error.detail))
                return nil
            }
            exchange.clientFraming = ForwardingRules.clientFraming(for: framing, clientVersion: exchange.head.version)
            if exchange.clientFraming == .untilClose || !exchange.requestComplete {
                exchange.clientKeepAlive = false
            }
            exchange.response = head
            exchange.upstream?.deadline = EventLoop.deadline(after: exchange.route.settings.responseTimeout)  // now: silence within the body
            exchange.responseBody = BodyDecoder(framing: framing, limits: context.settings.upstreamHTTPLimits)
            let connection = ForwardingRules.ClientConnection(open: exchange.clientKeepAlive, clientVersion: exchange.head.version)
            client.write(exchange.route.rules.clientHead(for: head, framing: exchange.clientFraming, connection: connection))
            exchange.responseHeadSent = true
        }
        return offset
    }

    func relayResponseBody(_ bytes: UnsafeRawBufferPointer) {
        guard let exchange, var decoder = exchange.responseBody else { return }
        let chunked = exchange.clientFraming == .chunked
        var sent = 0
        let used: Int
        do {
            used = try decoder.decode(bytes) { payload in
                sent += payload.count
                if chunked { client.writeChunk(payload) } else { client.write(payload) }
            }
        } catch {
            upstreamFailed(.upstreamInvalidResponse(error.detail))
            return
        }
        exchange.responseBody = decoder
        exchange.responseBytesSent += sent
        if used < bytes.count {
            // RFC 9112 §6.3: bytes after the end of the response (a body longer than its
            // Content-Length, a body on a 204, 304 or HEAD answer) are dropped, never taken as
            // the next response; the server's framing disagrees with ours, so that connection
            // must not carry another request either.
            exchange.upstreamOverran = true
            context.logger.warning("upstream sent bytes after the end of its response; connection not reused",
                                   metadata: ["extra_bytes": "\(bytes.count - used)"])
        }
        finishIfResponseComplete()
    }

    func finishIfResponseComplete() {
        guard let exchange, let decoder = exchange.responseBody else { return }
        if decoder.isComplete {
            if exchange.clientFraming == .chunked { client.writeLastChunk() }
            client.flush()
            completeExchange(upstreamReusable: exchange.requestComplete && !exchange.upstreamOverran)
        } else {
            client.flush()
            updateReading()
        }
    }

    /// The response has been relayed in full.
    func completeExchange(upstreamReusable: Bool) {
        guard let exchange, let upstream = exchange.upstream, let response = exchange.response else { return }
        let responseKeepAlive = response.version == .http1_1 && !response.hasToken("close", inFieldsNamed: "connection")
        if upstreamReusable, responseKeepAlive, exchange.clientFraming != .untilClose {
            exchange.route.pool.release(upstream)
        } else {
            upstream.close()
        }
        logAccess(exchange, status: response.status)
        self.exchange = nil
        if exchange.clientKeepAlive, !clientSentEOF || !input.isEmpty {
            state = .waitingForRequest
            client.deadline = EventLoop.deadline(after: context.settings.idleTimeout)
            processBufferedInput()
            // After the client's FIN, only the requests it had already sent are answered.
            if state == .waitingForRequest, clientSentEOF { close(graceful: true) }
            updateReading()
        } else {
            // The client asked to close (or spoke HTTP/1.0) and sent its whole request: once the
            // answer is out, only its FIN can still come, so there is nothing to linger for. When the
            // proxy chose to close (a body delimited by close, an early answer), the client may still
            // be sending: linger in full.
            close(graceful: true, peerIsDone: exchange.clientAskedToClose && exchange.requestComplete && input.isEmpty)
        }
    }
}
