/// Flow control, and the events of both connections, each handed to the phase it concerns.
extension ClientSession {
    // MARK: Flow control

    /// Reads from each side only while the other side keeps up and the phase can use the bytes.
    /// One match on the phase, each case doing all of its work: this runs several times per
    /// request, and every match that binds the phase's payloads costs their reference counts.
    func updateReading() {
        switch phase {
        case .readingHead:
            Self.setReading(client, !clientSentEOF)
        case .waitingForToken, .connecting:
            client.pauseReading()
        case .exchanging(let exchange, let attempt):
            let upstream = attempt.connection
            let uploading = !exchange.upload.isComplete
            let wantClient = uploading
                ? upstream.pendingOutputBytes < Self.highWaterMark
                : input.count < Self.maxBufferedInput && !clientSentEOF
            Self.setReading(client, wantClient)
            Self.setReading(upstream, client.pendingOutputBytes < Self.highWaterMark)
            if uploading, attempt.relay == nil { armUploadDeadlines(readingClient: wantClient, upstream, exchange) }
        case .tunneling(_, let attempt):
            let upstream = attempt.connection
            Self.setReading(client, upstream.pendingOutputBytes < Self.highWaterMark)
            Self.setReading(upstream, client.pendingOutputBytes < Self.highWaterMark)
        case .closed:
            return
        }
    }

    private static func setReading(_ connection: any Transport, _ on: Bool) {
        if on { connection.resumeReading() } else { connection.pauseReading() }
    }

    /// While a request body is still coming and no response has started, one side's deadline runs,
    /// the side being waited for: the client's `body_read` while its bytes are read, the upstream's
    /// `response_timeout` while the client is paused because the upstream is not taking the body.
    /// So a long upload that keeps moving never times out, and a timeout blames the right side.
    /// Once the body is complete, `response_timeout` runs from its last byte (forwardRequestBody).
    private func armUploadDeadlines(readingClient: Bool, _ upstream: any Transport, _ exchange: Exchange) {
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
            return
        }
        switch phase {
        case .exchanging(let exchange, let attempt) where attempt.connection === connection:
            upstreamDidRead(bytes, exchange, attempt)
        case .tunneling(let exchange, let attempt) where attempt.connection === connection:
            tunnel(bytes, toUpstream: false, exchange, attempt)
        default:
            return
        }
        updateReading()
    }

    func connectionDidReadEOF(_ connection: any Transport) {
        if case .tunneling = phase {
            end(.tunnelClosed(graceful: true))
            return
        }
        if connection === client {
            clientSentEOF = true
            switch phase {
            case .readingHead:
                close(graceful: true)  // idle, or gave up within a head
            case let phase where phase.exchange?.upload.isComplete == true:
                return  // half-close after a complete request: answer it, then close
            default:
                end(.failed(.clientClosed("the client closed its connection within its request body")))
            }
            return
        }
        if case .exchanging(let exchange, let attempt) = phase, attempt.connection === connection {
            upstreamDidReadEOF(exchange, attempt)
        }
    }

    func connection(_ connection: any Transport, didFail error: ConnectionError) {
        if connection === client {
            if phase.exchange != nil {
                end(.failed(.clientClosed("client connection failed: \(error)")))
            } else {
                close(graceful: false)
            }
        } else if let attempt = phase.attempt, attempt.connection === connection {
            if case .tunneling = phase {
                end(.tunnelClosed(graceful: false))
            } else {
                upstreamFailed(.upstreamUnavailable(error))
            }
        }
    }

    func connectionDidDrain(_ connection: any Transport) {
        updateReading()
    }

    func connectionDidTimeOut(_ connection: any Transport) {
        switch phase {
        case .tunneling:
            // No traffic either way for timeouts.tunnel_idle.
            end(.tunnelClosed(graceful: true))
        case .readingHead(started: false) where connection === client:
            close(graceful: true)  // idle keep-alive connection
        case _ where connection === client:
            // Within a head or a body. Once a response has started (an upstream that answers
            // before reading the whole request), `end` cuts the connection instead of a 408 that
            // would land inside that response's body.
            end(.failed(.requestTimeout))
        case .exchanging(let exchange, let attempt) where attempt.connection === connection:
            upstreamFailed(.upstreamTimedOut("upstream did not answer within \(exchange.route.settings.responseTimeout)"))
        default:
            return
        }
    }

    func connectionDidOpen(_ connection: any Transport) {}
}
