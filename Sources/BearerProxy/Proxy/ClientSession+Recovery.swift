import Logging
#if canImport(Glibc)
import Glibc
#endif

/// When an exchange goes wrong: a rejected token, a stale pooled connection, an error response, closing.
extension ClientSession {
    // MARK: Upstream 401

    /// The upstream answered 401. When the answer rejects the token (`upstream.retry_unauthorized`),
    /// the token is dropped, whether or not this request can be replayed, so that the next request
    /// gets a new one (the provider's minimum interval still applies). The request is then sent
    /// once more with a new token when it was read in full and its body, if any, was kept
    /// (`upstream.replay_body_limit`). Returns false when the 401 goes to the client as it came.
    func retryWithNewToken(after response: ResponseHead) -> Bool {
        guard let exchange, let token = exchange.token, rejectsToken(response) else { return false }
        let invalidation = exchange.route.tokens.invalidate(token)
        guard !exchange.retriedAfterUnauthorized, exchange.requestComplete, exchange.replayBody != nil,
              invalidation != .tooSoon else { return false }
        context.logger.info("upstream rejected the bearer token; retrying once with a new token", metadata: [
            "path": "\(exchange.head.targetString.split(separator: "?", maxSplits: 1).first ?? "")",
            "body_bytes": "\(exchange.replayBody?.count ?? 0)",
        ])
        // The 401's body is not wanted: close rather than drain that connection.
        exchange.upstream?.close()
        exchange.upstream = nil
        exchange.retriedAfterUnauthorized = true
        exchange.replaying = true
        exchange.response = nil
        exchange.responseBody = nil
        exchange.responseInput = []
        exchange.interimResponses = 0
        exchange.upstreamHead = []
        exchange.upstreamReused = false
        exchange.token = nil
        state = .waitingForToken
        exchange.route.tokens.token(on: loop) { [self] result in
            loop.assertOnLoop()
            tokenArrived(result)
        }
        return true
    }

    /// Whether this 401 says the token is bad, as `upstream.retry_unauthorized` reads it.
    private func rejectsToken(_ response: ResponseHead) -> Bool {
        switch exchange?.route.settings.retryUnauthorized ?? .never {
        case .never: return false
        case .any: return true
        // RFC 6750 §3.1: the resource server says the token itself is bad.
        case .invalidToken: return Self.saysInvalidToken(response)
        }
    }

    static func isReplayable(_ framing: BodyFraming) -> Bool {
        switch framing {
        case .none, .contentLength(0): return true
        default: return false
        }
    }

    static func saysInvalidToken(_ response: ResponseHead) -> Bool {
        for field in response.fields where response.fieldNameIs(field, "www-authenticate") {
            let value = String(decoding: response.value(field), as: UTF8.self).lowercased()
            if value.contains("bearer"), value.contains("invalid_token") { return true }
        }
        return false
    }

    // MARK: Failures

    /// Ends the current request with an error response when none has started, else cuts the client off.
    /// `request`: the head being refused when it has no exchange yet (otherwise the exchange's).
    func fail(_ error: ProxyError, answering request: RequestHead? = nil) {
        guard state != .closed else { return }
        let responseStarted = exchange?.responseHeadSent ?? false
        let refused = request ?? exchange?.head
        let toHEAD = refused?.isHEAD ?? false
        if error.side == .downstream {
            context.logger.debug("rejected request", metadata: ["client": "\(clientAddress)", "reason": "\(error)"])
        }
        if let exchange {
            logAccess(exchange, status: responseStarted ? (exchange.response?.status ?? 0) : ErrorResponse.status(for: error).code)
            exchange.upstream?.close()
        } else {
            logRefused(request, status: ErrorResponse.status(for: error).code)
        }
        // The connection can carry on only when the request was read in full and the error is not
        // about the client's own bytes.
        let keepAlive = !responseStarted && error.side != .downstream && (exchange?.requestComplete ?? false)
            && (exchange?.clientKeepAlive ?? false) && !clientSentEOF
        exchange = nil
        if responseStarted {
            close(graceful: false)
            return
        }
        let connection = ForwardingRules.ClientConnection(open: keepAlive, clientVersion: refused?.version ?? .http1_1)
        client.write(ErrorResponse.bytes(for: error, connection: connection, toHEAD: toHEAD))
        if keepAlive {
            client.flush()
            state = .waitingForRequest
            client.deadline = EventLoop.deadline(after: context.settings.idleTimeout)
            processBufferedInput()
            updateReading()
        } else {
            close(graceful: true)
        }
    }

    func upstreamFailed(_ error: ProxyError) {
        guard let exchange else { return }
        // A pooled connection the server had already closed: replay a body-less idempotent request
        // once (RFC 9112 §9.3.1: a proxy MUST NOT retry a non-idempotent one on its own; a POST the
        // server may have acted on before closing is answered 502 instead).
        // Not after a response timeout: the server has had the request all along and may be acting
        // on it, and a replay would double the wait that `upstream.response_timeout` promises.
        if exchange.upstreamReused, !exchange.retriedOnFreshConnection, !exchange.upstreamHead.isEmpty,
           exchange.head.isIdempotent, exchange.response == nil, exchange.responseInput.isEmpty, !error.isTimeout {
            exchange.upstream?.close()
            exchange.upstream = nil
            exchange.retriedOnFreshConnection = true
            exchange.upstreamReused = false
            state = .connectingUpstream
            // `startExchange` sends the kept head again, with the token it carried.
            if let token = exchange.token { acquireUpstream(token: token, fresh: true) } else { fail(error) }
            return
        }
        context.logger.warning("upstream failed", metadata: ["reason": "\(error)"])
        fail(error)
    }

    /// `peerIsDone`: the client sends nothing more (see `Connection.closeAfterFlush(peerIsDone:)`).
    func close(graceful: Bool, peerIsDone: Bool = false) {
        guard state != .closed else { return }
        state = .closed
        exchange?.upstream?.close()
        exchange = nil
        input = []
        context.connections.closed()
        context.sessionClosed(self)
        if graceful { client.closeAfterFlush(peerIsDone: peerIsDone) } else { client.close() }
    }
}
