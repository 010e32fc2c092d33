import Logging

/// The one exit: every request leaves through `end`, which settles the upstream connection, maps
/// an error to its status (`ErrorResponse`), writes the request's one access line and metrics,
/// and moves the client connection on to its next request or closes it.
extension ClientSession {
    enum Ending {
        /// The response was relayed in full. `upstreamReusable`: the exchange ended cleanly on the
        /// upstream's side, so its connection may carry another request.
        case relayed(upstreamReusable: Bool)
        /// The WebSocket tunnel ended (`graceful`: what is queued each way is still delivered).
        case tunnelClosed(graceful: Bool)
        /// An error response, when no response has started and the error answers the client;
        /// otherwise the client connection is cut, so a truncated answer cannot look complete.
        case failed(ProxyError)
    }

    /// Ends the request in flight, or refuses `refusing`, the head of a request that never became
    /// an exchange (refused at admission); with neither, a head that did not parse or come in time.
    func end(_ ending: Ending, refusing refused: RequestHead? = nil) {
        if phase.isClosed { return }
        let exchange = phase.exchange
        let attempt = phase.attempt
        let relayed = attempt?.relay
        let tunneled: Bool
        if case .tunneling = phase { tunneled = true } else { tunneled = false }
        let responseStarted = relayed != nil || tunneled

        // The status the client saw: the response's, once one started.
        let status: Int
        switch ending {
        case .relayed: status = relayed?.status ?? 0
        case .tunnelClosed: status = 101
        case .failed(let error): status = responseStarted ? (tunneled ? 101 : relayed?.status ?? 0) : ErrorResponse.status(for: error).code
        }

        // The upstream connection: back to the pool only after a clean, reusable exchange.
        if let attempt {
            switch ending {
            case .relayed(let reusable):
                if reusable, let relayed, relayed.upstreamKeepsAlive, relayed.clientFraming != .untilClose {
                    exchange?.route.pool.release(attempt.connection)
                } else {
                    attempt.connection.close()
                }
            case .tunnelClosed(let graceful):
                if graceful { attempt.connection.closeAfterFlush() } else { attempt.connection.close() }
            case .failed:
                attempt.connection.close()
            }
        }

        // What the status page lists as a failed request: the proxy's error code, or what the
        // upstream answered.
        var failure: String?
        switch ending {
        case .failed(let error):
            let code = ErrorResponse.status(for: error).error
            failure = responseStarted ? "cut after the response started: \(code)" : code
        case .relayed where status >= 400:
            failure = "upstream answered \(status)"
        case .relayed, .tunnelClosed:
            failure = nil
        }

        if let exchange {
            let now = EventLoop.now()
            record(exchange, route: exchange.route.label, metrics: exchange.route.metrics, status: status,
                   duration: now &- exchange.startedAt, upstream: attempt.map { now &- $0.startedAt },
                   bytesIn: exchange.upload.forwarded, bytesOut: exchange.responseBytesSent, reused: attempt?.reused ?? false,
                   failure: failure)
        } else if case .failed = ending {
            // Refused before it had a route (421, 404, 405, 400, 413 by Content-Length, a head
            // that did not parse or come in time): `route="none"`, nothing forwarded.
            record(nil, refused: refused, route: "none", metrics: context.metrics.unrouted, status: status, duration: 0, upstream: nil,
                   bytesIn: 0, bytesOut: 0, reused: false, failure: failure)
        }

        // The request is over: nothing below may end it again.
        phase = .readingHead(started: false)
        switch ending {
        case .relayed:
            guard let exchange else { return }
            if exchange.clientKeepAlive, !clientSentEOF || !input.isEmpty {
                nextRequest()
            } else {
                // The client asked to close (or spoke HTTP/1.0) and sent its whole request: once the
                // answer is out, only its FIN can still come, so there is nothing to linger for. When
                // the proxy chose to close (a body delimited by close, an early answer), the client may
                // still be sending: linger in full.
                close(graceful: true, peerIsDone: exchange.clientAskedToClose && exchange.upload.isComplete && input.isEmpty)
            }
        case .tunnelClosed(let graceful):
            close(graceful: graceful)
        case .failed(let error):
            if error.side == .downstream {
                context.logger.debug("rejected request", metadata: ["client": "\(clientAddress)", "reason": "\(error)"])
            }
            guard !responseStarted, error.answersClient else {
                close(graceful: false)
                return
            }
            // The connection can carry on only when the request was read in full and the error is
            // not about the client's own bytes.
            let keepAlive = error.side != .downstream && exchange.map { $0.upload.isComplete && $0.clientKeepAlive } == true
                && !clientSentEOF
            let head = exchange?.head ?? refused
            let connection = ForwardingRules.ClientConnection(open: keepAlive, clientVersion: head?.version ?? .http1_1)
            client.write(ErrorResponse.bytes(for: error, connection: connection, toHEAD: head?.isHEAD ?? false))
            if keepAlive {
                client.flush()
                nextRequest()
            } else {
                close(graceful: true)
            }
        }
    }

    /// Back to reading a head: the next pipelined one, if it is already here.
    private func nextRequest() {
        phase = .readingHead(started: false)
        client.deadline = EventLoop.deadline(after: context.settings.idleTimeout)
        processBufferedInput()
        closeIfDoneAfterEOF()
        updateReading()
    }

    /// Metrics and the access line of one request (`exchange`), or of a head refused before it
    /// became one (`refused`); called only by `end`. The head is taken from the exchange only on
    /// the paths that use more than its method, so the common one copies nothing.
    private func record(_ exchange: Exchange?, refused: RequestHead? = nil, route: String, metrics: RequestMetrics, status: Int,
                        duration: UInt64, upstream: UInt64?, bytesIn: UInt64, bytesOut: Int, reused: Bool, failure: String?) {
        let method: Int
        if let exchange {
            method = ProxyMetrics.methodIndex(exchange.head.raw[exchange.head.method])
        } else {
            method = refused.map { ProxyMetrics.methodIndex($0.raw[$0.method]) } ?? ProxyMetrics.methods.count - 1
        }
        metrics.record(methodIndex: method, status: status, durationNanoseconds: duration, upstreamNanoseconds: upstream,
                       bytesIn: Int(bytesIn), bytesOut: bytesOut, shard: context.loop.index)
        guard failure != nil || context.accessLine != nil || context.accessLogger.logLevel <= .info else { return }
        let head = exchange?.head ?? refused
        if let failure {
            context.metrics.recentFailures.add(
                time: WallClock.milliseconds(), status: status, method: head.map { $0.raw[$0.method] } ?? Array("-".utf8)[...],
                path: head.map { Array(AccessLogFormat.path($0.targetString, includeQuery: false).utf8)[...] } ?? Array("-".utf8)[...],
                reason: failure)
        }
        // Built only when the access log is on. Never a header value: Authorization and Cookie
        // must not reach a log line.
        guard context.accessLine != nil || context.accessLogger.logLevel <= .info else { return }
        let values = [
            clientAddress, head?.methodString ?? "-",
            head.map { String(AccessLogFormat.path($0.targetString, includeQuery: context.accessLogQuery)) } ?? "-",
            String(status), String(bytesIn), String(bytesOut),
            AccessLogFormat.milliseconds(duration),
            upstream.map(AccessLogFormat.milliseconds) ?? "-", reused ? "true" : "false", route,
        ]
        if let line = context.accessLine {
            // The same line, built without swift-log's metadata dictionary (one per request).
            line.write(values)
        } else {
            context.accessLogger.info("request", metadata: Logger.Metadata(
                uniqueKeysWithValues: zip(Self.accessKeys, values.map { Logger.MetadataValue.string($0) })))
        }
    }

    /// The access line's keys, in the order `record` gives the values.
    static let accessKeys = [
        "client", "method", "path", "status", "bytes_in", "bytes_out", "duration_ms", "upstream_ms", "upstream_reused", "route",
    ]

    /// Closes the session. A request still in flight ends first, through `end`, so none leaves
    /// unrecorded. `peerIsDone`: the client sends nothing more (see `Transport.closeAfterFlush`).
    func close(graceful: Bool, peerIsDone: Bool = false) {
        if phase.isClosed { return }
        if phase.exchange != nil {
            end(.failed(.clientClosed("the connection closed with the request in flight")))
            return
        }
        phase = .closed
        input = []
        context.connections.closed(onLoop: loop.index)
        context.sessionClosed(self)
        if graceful { client.closeAfterFlush(peerIsDone: peerIsDone) } else { client.close() }
    }

    /// Shutdown: closes the connection if it sits between requests (keep-alive idle), so a drain
    /// does not wait for idle clients. A request in flight is left to finish.
    func closeIfIdle() {
        loop.assertOnLoop()
        if case .readingHead(started: false) = phase { close(graceful: true) }
    }

    /// Shutdown after `drain_timeout`: the request or tunnel still open is cut, and its access
    /// line says so (the status its client saw, or 0 when no answer had started), so no request
    /// leaves the process unrecorded.
    func abandon() {
        loop.assertOnLoop()
        if phase.exchange != nil { end(.failed(.abandoned)) } else { close(graceful: false) }
    }
}
