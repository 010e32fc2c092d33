import Logging

/// When an attempt goes wrong and the request can still be answered: a rejected token, a stale
/// pooled connection. Each retry is a new `UpstreamAttempt` on the one acquire path, spent at most
/// once per request; anything else goes to the one exit (`end`).
extension ClientSession {
    /// The upstream answered 401. When the answer rejects the token (`upstream.retry_unauthorized`),
    /// the token is dropped, whether or not this request can be replayed, so that the next request
    /// gets a new one (the provider's minimum interval still applies). The request is then sent
    /// once more with a new token when it was read in full and its body, if any, was kept
    /// (`upstream.replay_body_limit`). Returns false when the 401 goes to the client as it came.
    func retryWithNewToken(after response: ResponseHead, _ exchange: Exchange, _ attempt: UpstreamAttempt) -> Bool {
        guard rejectsToken(response, route: exchange.route) else { return false }
        let invalidation = exchange.route.tokens.invalidate(attempt.token)
        guard !exchange.retries.contains(.unauthorized), exchange.upload.isComplete, exchange.upload.kept != nil,
              invalidation != .tooSoon else { return false }
        context.logger.info("upstream rejected the bearer token; retrying once with a new token", metadata: [
            "path": "\(exchange.head.targetString.split(separator: "?", maxSplits: 1).first ?? "")",
            "body_bytes": "\(exchange.upload.kept?.count ?? 0)",
        ])
        // The 401's body is not wanted: close rather than drain that connection.
        attempt.connection.close()
        exchange.retries.insert(.unauthorized)
        phase = .waitingForToken(exchange)
        exchange.route.tokens.token(on: loop) { [self] result in
            loop.assertOnLoop()
            tokenArrived(result, for: exchange)
        }
        return true
    }

    /// RFC 9449 §9: a resource server that wants a nonce in the proof answers 401 with
    /// `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a `DPoP-Nonce` (already noted for the
    /// route). The request goes again, once, with the same token and a proof carrying the nonce,
    /// when it was read in full and its body, if any, was kept.
    func retryWithDPoPNonce(after response: ResponseHead, _ exchange: Exchange, _ attempt: UpstreamAttempt) -> Bool {
        guard attempt.token.proofHash != nil, !exchange.retries.contains(.dpopNonce), exchange.upload.isComplete,
              exchange.hasNoBody || exchange.upload.kept != nil, Self.asksForDPoPNonce(response),
              exchange.route.dpopNonce.current != nil else { return false }
        context.logger.debug("upstream asked for a DPoP nonce; sending the request again with it", metadata: ["route": "\(exchange.route.label)"])
        attempt.connection.close()  // the 401's body is not wanted
        exchange.retries.insert(.dpopNonce)
        acquireUpstream(for: exchange, token: attempt.token, fresh: false)
        return true
    }

    static func asksForDPoPNonce(_ response: ResponseHead) -> Bool {
        for field in response.fields where response.fieldNameIs(field, "www-authenticate") {
            let value = String(decoding: response.value(field), as: UTF8.self).lowercased()
            if value.hasPrefix("dpop"), value.contains("use_dpop_nonce") { return true }
        }
        return false
    }

    /// RFC 9449 §8.2: a server may send a new nonce with any answer; the route keeps the newest.
    func noteDPoPNonce(_ response: ResponseHead, route: RouteContext) {
        guard let value = response.firstValue(named: "dpop-nonce") else { return }
        route.dpopNonce.update(String(decoding: value, as: UTF8.self))
    }

    /// Whether this 401 says the token is bad, as `upstream.retry_unauthorized` reads it.
    private func rejectsToken(_ response: ResponseHead, route: RouteContext) -> Bool {
        switch route.settings.retryUnauthorized {
        case .never: return false
        case .any: return true
        // RFC 6750 §3.1: the resource server says the token itself is bad.
        case .invalidToken: return Self.saysInvalidToken(response)
        }
    }

    static func saysInvalidToken(_ response: ResponseHead) -> Bool {
        for field in response.fields where response.fieldNameIs(field, "www-authenticate") {
            let value = String(decoding: response.value(field), as: UTF8.self).lowercased()
            // A DPoP-bound token is refused in a `DPoP` challenge (RFC 9449 §7.1).
            if value.contains("bearer") || value.hasPrefix("dpop"), value.contains("invalid_token") { return true }
        }
        return false
    }

    /// The upstream connection failed, closed or broke the protocol. A pooled connection the
    /// server had already closed gets a body-less idempotent request sent once more on a fresh one
    /// (RFC 9112 §9.3.1: a proxy MUST NOT retry a non-idempotent one on its own; a POST the server
    /// may have acted on before closing is answered 502 instead). Not after a response timeout:
    /// the server has had the request all along and may be acting on it, and a replay would double
    /// the wait that `upstream.response_timeout` promises.
    func upstreamFailed(_ error: ProxyError) {
        guard case .exchanging(let exchange, let attempt) = phase else { return }
        if attempt.reused, attempt.heardNothing, !exchange.retries.contains(.staleConnection),
           exchange.hasNoBody, exchange.head.isIdempotent, !error.isTimeout {
            attempt.connection.close()
            exchange.retries.insert(.staleConnection)
            acquireUpstream(for: exchange, token: attempt.token, fresh: true)
            return
        }
        context.logger.warning("upstream failed", metadata: ["route": "\(exchange.route.label)", "reason": "\(error)"])
        end(.failed(error))
    }
}
