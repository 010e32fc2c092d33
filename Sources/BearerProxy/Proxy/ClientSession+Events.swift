import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Flow control and the connection events of both sides.
extension ClientSession {
    // MARK: Flow control

    /// Reads from each side only while the other side keeps up and the phase can use the bytes.
    func updateReading() {
        guard state != .closed else { return }
        let wantClient: Bool
        switch state {
        case .waitingForRequest:
            wantClient = !clientSentEOF
        case .waitingForToken, .connectingUpstream:
            wantClient = false
        case .exchanging:
            if let exchange, !exchange.requestComplete {
                wantClient = (exchange.upstream?.pendingOutputBytes ?? 0) < Self.highWaterMark
            } else {
                wantClient = input.count < Self.maxBufferedInput && !clientSentEOF
            }
        case .tunneling:
            wantClient = (exchange?.upstream?.pendingOutputBytes ?? 0) < Self.highWaterMark
        case .closed:
            return
        }
        if wantClient { client.resumeReading() } else { client.pauseReading() }
        if let upstream = exchange?.upstream {
            if client.pendingOutputBytes < Self.highWaterMark { upstream.resumeReading() } else { upstream.pauseReading() }
        }
        if state == .exchanging { armUploadDeadlines(readingClient: wantClient) }
    }

    /// While a request body is still coming and no response has started, one side's deadline runs,
    /// the side being waited for: the client's `body_read` while its bytes are read, the upstream's
    /// `response_timeout` while the client is paused because the upstream is not taking the body.
    /// So a long upload that keeps moving never times out, and a timeout blames the right side.
    /// Once the body is complete, `response_timeout` runs from its last byte (forwardRequestBody).
    func armUploadDeadlines(readingClient: Bool) {
        guard let exchange, let upstream = exchange.upstream, !exchange.requestComplete, exchange.response == nil else { return }
        if readingClient {
            upstream.deadline = 0
            if client.deadline == 0 { client.deadline = EventLoop.deadline(after: context.settings.bodyTimeout) }
        } else {
            client.deadline = 0
            if upstream.deadline == 0 { upstream.deadline = EventLoop.deadline(after: exchange.route.settings.responseTimeout) }
        }
    }

    // MARK: ConnectionDelegate

    func connection(_ connection: any Transport, didRead bytes: UnsafeRawBufferPointer) {
        if connection === client {
            clientDidRead(bytes)
        } else if connection === exchange?.upstream {
            upstreamDidRead(bytes)
            updateReading()
        }
    }

    func connectionDidReadEOF(_ connection: any Transport) {
        if state == .tunneling {
            closeTunnel(graceful: true, reason: connection === client ? "client closed" : "upstream closed")
            return
        }
        if connection === client {
            clientSentEOF = true
            if exchange?.requestComplete == true {
                return  // half-close after a complete request: answer it, then close
            }
            // Idle, or gave up within a head or a body.
            close(graceful: state == .waitingForRequest)
            return
        }
        guard connection === exchange?.upstream, let exchange else { return }
        guard var decoder = exchange.responseBody else {
            upstreamFailed(.upstreamClosed("upstream closed the connection before answering"))
            return
        }
        do {
            try decoder.finishAtEOF()
        } catch {
            // Truncated body: the client must see the connection end, not a short "complete" body.
            context.logger.warning("upstream closed mid-response", metadata: ["reason": "\(error.detail)"])
            logAccess(exchange, status: exchange.response?.status ?? 0)
            close(graceful: false)
            return
        }
        exchange.responseBody = decoder
        client.flush()
        completeExchange(upstreamReusable: false)
    }

    func connection(_ connection: any Transport, didFail error: ConnectionError) {
        if state == .tunneling {
            closeTunnel(graceful: false, reason: "\(connection === client ? "client" : "upstream"): \(error)")
            return
        }
        if connection === client {
            close(graceful: false)
        } else if connection === exchange?.upstream {
            exchange?.upstream = nil
            upstreamFailed(.upstreamUnavailable(error))
        }
    }

    func connectionDidDrain(_ connection: any Transport) {
        updateReading()
    }

    func connectionDidTimeOut(_ connection: any Transport) {
        if state == .tunneling {
            closeTunnel(graceful: true, reason: "no traffic for timeouts.tunnel_idle")
            return
        }
        if connection === client {
            switch state {
            case .waitingForRequest where !headStarted:
                close(graceful: true)  // idle keep-alive connection
            default:
                // The client stalled in its body after the response had started (an upstream that
                // answers before reading the whole request): a 408 now would land inside that response's
                // body, so cut the connection instead, as for any failure once a response has started.
                if let exchange, exchange.responseHeadSent {
                    logAccess(exchange, status: exchange.response?.status ?? 0)
                    close(graceful: false)
                    return
                }
                client.write(ErrorResponse.json(status: 408, reason: "Request Timeout", error: "request_timeout",
                                                detail: "the request was not received in time", close: true,
                                                toHEAD: exchange?.head.isHEAD ?? false))
                if let exchange { logAccess(exchange, status: 408) } else { logRefused(nil, status: 408) }
                close(graceful: true)
            }
        } else if let exchange, connection === exchange.upstream {
            upstreamFailed(.upstreamTimedOut("upstream did not answer within \(exchange.route.settings.responseTimeout)"))
        }
    }

    func connectionDidOpen(_ connection: any Transport) {}

    // MARK: Helpers


    static func onlyH2CUpgrade(_ head: RequestHead) -> Bool {
        for field in head.fields where head.fieldNameIs(field, "upgrade") {
            let value = head.value(field).map(asciiLowercased)
            if value != Array("h2c".utf8) { return false }
        }
        return true
    }

    /// Metrics and the access log line for one finished request; called exactly once per request.
    func logAccess(_ exchange: Exchange, status: Int) {
        let now = EventLoop.now()
        let upstreamTime = exchange.upstreamStartedAt == 0 ? nil : now &- exchange.upstreamStartedAt
        record(exchange.head, route: exchange.route.label, metrics: exchange.route.metrics, status: status,
               duration: now &- exchange.startedAt, upstream: upstreamTime,
               bytesIn: exchange.requestBytesForwarded, bytesOut: exchange.responseBytesSent, reused: exchange.upstreamReused)
    }

    /// The same for a request refused before it had a route (421, 404 without a route, 405, 400,
    /// 413 by Content-Length, and heads that did not parse): `route="none"`, nothing forwarded.
    func logRefused(_ head: RequestHead?, status: Int) {
        record(head, route: "none", metrics: context.metrics.unrouted, status: status, duration: 0, upstream: nil,
               bytesIn: 0, bytesOut: 0, reused: false)
    }

    private func record(_ head: RequestHead?, route: String, metrics: RequestMetrics, status: Int, duration: UInt64,
                        upstream: UInt64?, bytesIn: UInt64, bytesOut: Int, reused: Bool) {
        let method = head.map { ProxyMetrics.methodIndex($0.raw[$0.method]) } ?? ProxyMetrics.methods.count - 1
        metrics.record(methodIndex: method, status: status, durationNanoseconds: duration, upstreamNanoseconds: upstream,
                       bytesIn: Int(bytesIn), bytesOut: bytesOut)
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

    /// Shutdown: closes the connection if it sits between requests (keep-alive idle), so a drain
    /// does not wait for idle clients. A request in flight is left to finish.
    func closeIfIdle() {
        loop.assertOnLoop()
        if state == .waitingForRequest, !headStarted { close(graceful: true) }
    }

    /// Shutdown after `drain_timeout`: the request or tunnel still open is cut, and its access
    /// line says so (the status its client saw, or 0 when no answer had started), so no request
    /// leaves the process unrecorded.
    func abandon() {
        loop.assertOnLoop()
        if state == .tunneling {
            closeTunnel(graceful: false, reason: "drain_timeout reached")
            return
        }
        if let exchange {
            logAccess(exchange, status: exchange.responseHeadSent ? (exchange.response?.status ?? 0) : 0)
        }
        close(graceful: false)
    }
}
