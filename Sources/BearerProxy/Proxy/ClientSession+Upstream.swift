import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The phases from the token to a sent request: wait for the token, get an upstream connection
/// (the one path for every attempt, retries included), send the head, stream the body up.
extension ClientSession {
    func tokenArrived(_ result: Result<AccessToken, TokenError>, for exchange: Exchange) {
        guard case .waitingForToken(let waiting) = phase, waiting === exchange else { return }
        switch result {
        case .failure(let error):
            end(.failed(.tokenUnavailable(error)))
        case .success(let token):
            acquireUpstream(for: exchange, token: token, fresh: false)
        }
    }

    /// The one way to an upstream connection: an idle pooled one at once, or a new one (`fresh`:
    /// never a pooled one, after a pooled one turned out stale). Then `startAttempt`.
    func acquireUpstream(for exchange: Exchange, token: AccessToken, fresh: Bool) {
        phase = .connecting(exchange, token)
        let pool = exchange.route.pool
        if !fresh, let connection = pool.takeIdle() {
            startAttempt(exchange, on: connection, reused: true, token: token)
            return
        }
        pool.acquire(fresh: fresh) { [self] result in
            guard case .connecting(let waiting, _) = phase, waiting === exchange else {
                // The request ended while connecting: the connection is new and unused, so keep it.
                if case .success(let (connection, _)) = result { pool.release(connection) }
                return
            }
            switch result {
            case .failure(let error):
                context.logger.warning("upstream connection failed", metadata: ["route": "\(exchange.route.label)", "reason": "\(error)"])
                if case .io(let io) = error, io.errno == ETIMEDOUT {
                    end(.failed(.upstreamTimedOut(error.description)))
                } else {
                    end(.failed(.upstreamUnavailable(error)))
                }
            case .success(let (connection, reused)):
                startAttempt(exchange, on: connection, reused: reused, token: token)
            }
        }
    }

    /// Sends the head (built for this attempt's token) and what of the body is at hand.
    func startAttempt(_ exchange: Exchange, on connection: any Transport, reused: Bool, token: AccessToken) {
        connection.delegate = self
        let attempt = UpstreamAttempt(connection: connection, token: token, reused: reused, startedAt: EventLoop.now())
        phase = .exchanging(exchange, attempt)
        // The rules are read through the route (a class) rather than copied out: a copy costs a
        // reference count for each of their buffers.
        let route = exchange.route
        var proof: String?
        if let hash = token.proofHash {
            // RFC 9449 §7.1: a DPoP-bound token goes with a fresh proof for this method and URL.
            do throws(TokenError) {
                guard let dpop = route.dpop else { throw .credentials("a DPoP-bound token but no DPoP key") }
                proof = try dpop.proof(method: exchange.head.methodString, url: route.rules.upstreamURL(for: exchange.head, form: exchange.targetForm),
                                       accessTokenHash: hash, nonce: route.dpopNonce.current, now: TokenClock.system.secondsSince1970())
            } catch {
                connection.close()
                end(.failed(.tokenUnavailable(error)))
                return
            }
        }
        connection.write(estimate: route.rules.upstreamHeadEstimate(for: exchange.head, token: token, clientAddress: clientAddress, proof: proof)) { out in
            route.rules.writeUpstreamHead(for: exchange.head, form: exchange.targetForm, framing: exchange.framing, token: token,
                                          clientAddress: clientAddress, webSocket: exchange.isWebSocket, proof: proof, to: &out)
        }
        // The body was read in full by an earlier attempt (a replay): it goes up from what was kept.
        if exchange.upload.isComplete { writeKeptBody(of: exchange, to: connection) }
        connection.deadline = EventLoop.deadline(after: exchange.route.settings.responseTimeout)
        processBufferedInput()
        if case .exchanging(_, let current) = phase, current === attempt { connection.flush() }
        updateReading()
    }

    /// The body as an earlier attempt read it, framed as the upstream head announced.
    private func writeKeptBody(of exchange: Exchange, to connection: any Transport) {
        let body = exchange.upload.kept ?? []
        if exchange.framing == .chunked {
            if !body.isEmpty { body.withUnsafeBytes { connection.writeChunk($0) } }
            connection.writeLastChunk()
        } else if !body.isEmpty {
            connection.write(body)
        }
    }

    /// Sends request body bytes upstream, re-framed as the upstream head announced, and keeps
    /// them for a replay while they fit. Returns how many of `bytes` the body took.
    func forwardRequestBody(_ bytes: UnsafeRawBufferPointer, of exchange: Exchange, on attempt: UpstreamAttempt) -> Int {
        let upstream = attempt.connection
        let chunked = exchange.framing == .chunked
        let replayLimit = exchange.route.settings.replayBodyLimit
        var forwarded = 0
        let used: Int
        // Decoded on a copy (a few integers): the closure below updates `exchange.upload.kept`,
        // which must not overlap an access to `exchange.upload` itself.
        var decoder = exchange.upload.decoder
        do {
            used = try decoder.decode(bytes) { payload in
                forwarded += payload.count
                if exchange.upload.kept != nil {
                    if exchange.upload.kept!.count + payload.count <= replayLimit {
                        exchange.upload.kept!.append(bytes: payload)
                    } else {
                        exchange.upload.kept = nil
                    }
                }
                if chunked { upstream.writeChunk(payload) } else { upstream.write(payload) }
            }
        } catch {
            end(.failed(.badRequest(error)))
            return bytes.count
        }
        exchange.upload.decoder = decoder
        exchange.upload.forwarded += UInt64(forwarded)
        if let limit = context.settings.maxBodySize, exchange.upload.forwarded > limit {
            end(.failed(.bodyTooLarge(limit)))  // a chunked body grew past the cap: the upstream gets a cut-off request and is closed
            return bytes.count
        }
        if exchange.upload.isComplete {
            if chunked { upstream.writeLastChunk() }
            client.deadline = 0
            // upstream.response_timeout runs from the last request byte (see armUploadDeadlines).
            if attempt.relay == nil { upstream.deadline = EventLoop.deadline(after: exchange.route.settings.responseTimeout) }
        } else {
            client.deadline = EventLoop.deadline(after: context.settings.bodyTimeout)
        }
        upstream.flush()
        return used
    }
}
