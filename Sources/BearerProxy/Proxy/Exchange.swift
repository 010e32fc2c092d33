/// One admitted request, from its routed head to its last response byte, across every attempt
/// upstream. What it is never changes; how far its body has come and which retries it has spent do.
/// A class, so that the phases holding it update it in place instead of copying its buffers.
/// @unchecked Sendable: owned by one `ClientSession` and touched only on its loop's queue (the
/// token provider's completion carries it back there).
final class Exchange: @unchecked Sendable {
    let head: RequestHead
    /// Chosen before anything else happens to the request: upstream, token profile, rules, settings.
    let route: RouteContext
    let targetForm: ForwardingRules.TargetForm
    let framing: BodyFraming
    /// A WebSocket handshake (RFC 6455 §4.1): a 101 turns the connection into a tunnel.
    let isWebSocket: Bool
    /// The client itself ends the connection after this request (`Connection: close`, or
    /// HTTP/1.0 without keep-alive), as opposed to the proxy deciding to close it.
    let clientAskedToClose: Bool
    let startedAt: UInt64
    /// Whether the client connection carries on after this request; the proxy may turn it off
    /// (a response delimited by close, an answer that came before the whole request).
    var clientKeepAlive: Bool
    var upload: Upload
    /// Payload bytes relayed to the client, for metrics and the access line.
    var responseBytesSent = 0
    /// Each retry is spent at most once per request.
    var retries: Retries = []

    /// The request body as it is read from the client and sent up.
    struct Upload {
        var decoder: BodyDecoder
        /// Payload bytes read from the client (after de-chunking).
        var forwarded: UInt64 = 0
        /// The payload so far, kept so that a 401 rejecting the token can be answered by sending
        /// the request again; nil once larger than `upstream.replay_body_limit`, or when no
        /// replay can happen (the 401 is then relayed).
        var kept: [UInt8]?

        var isComplete: Bool { decoder.isComplete }
    }

    struct Retries: OptionSet {
        let rawValue: UInt8
        /// Sent again on a fresh connection after a pooled one turned out closed by the server.
        static let staleConnection = Retries(rawValue: 1)
        /// Sent again with a new token after a 401 that rejected the old one.
        static let unauthorized = Retries(rawValue: 2)
        /// Sent again with the DPoP nonce the upstream asked for (RFC 9449 §9).
        static let dpopNonce = Retries(rawValue: 4)
    }

    init(head: RequestHead, route: RouteContext, targetForm: ForwardingRules.TargetForm, framing: BodyFraming,
         isWebSocket: Bool, keepAlive: Bool, limits: HTTP1Limits, startedAt: UInt64) {
        self.head = head
        self.route = route
        self.targetForm = targetForm
        self.framing = framing
        self.isWebSocket = isWebSocket
        self.clientAskedToClose = !keepAlive
        self.clientKeepAlive = keepAlive
        self.startedAt = startedAt
        var kept: [UInt8]? = []
        if route.settings.retryUnauthorized == .never {
            kept = nil  // no 401 is ever answered by a replay: nothing to keep
        } else if case .contentLength(let length) = framing, length > UInt64(route.settings.replayBodyLimit) {
            kept = nil  // announced too large to keep: not copied at all
        }
        self.upload = Upload(decoder: BodyDecoder(framing: framing, limits: limits), kept: kept)
    }

    /// A request without a body, which can be sent again as it is.
    var hasNoBody: Bool {
        switch framing {
        case .none, .contentLength(0): return true
        default: return false
        }
    }
}

/// One try at an answer from the upstream: the connection, the token the request carries on it,
/// and how far the response has come. A retry is a new attempt, so nothing of the last one lingers.
/// Owned by one `ClientSession` and touched only on its loop's queue.
///
/// The response's progress is kept in stored properties rather than an enum with payloads: the
/// session reads it several times per request, and a stored property is read in place, where
/// matching an enum held by a class copies its payload (a reference count per buffer each time).
final class UpstreamAttempt {
    let connection: any Transport
    let token: AccessToken
    /// Taken from the pool (it may turn out to have been closed by the server).
    let reused: Bool
    /// When the head went up, for the upstream time in metrics and logs.
    let startedAt: UInt64
    /// Until the final head has come: the bytes of one not yet complete.
    var partialHead: [UInt8] = []
    /// The 1xx answers relayed so far (at most `SizeLimits.interimResponses`).
    var interims = 0
    /// Once the final head has gone to the client: its body's progress.
    var relay: ResponseRelay?

    init(connection: any Transport, token: AccessToken, reused: Bool, startedAt: UInt64) {
        self.connection = connection
        self.token = token
        self.reused = reused
        self.startedAt = startedAt
    }

    /// Nothing has come back yet: not a byte of a head, not a 1xx.
    var heardNothing: Bool { relay == nil && partialHead.isEmpty && interims == 0 }
}

/// A final response being relayed: what the proxy needs of its head, and its body's progress.
/// Plain values only, so reading or copying it costs no reference counting.
struct ResponseRelay {
    /// The status the client sees.
    let status: Int
    /// The upstream keeps its connection open after this response: HTTP/1.1 without
    /// `Connection: close` (RFC 9112 §9.3).
    let upstreamKeepsAlive: Bool
    var body: BodyDecoder
    let clientFraming: ForwardingRules.ClientFraming
    /// The upstream sent bytes past the end of its response: that connection is not reused.
    var overran = false

    init(head: ResponseHead, body: BodyDecoder, clientFraming: ForwardingRules.ClientFraming) {
        status = head.status
        upstreamKeepsAlive = head.version == .http1_1 && !head.hasToken("close", inFieldsNamed: .connection)
        self.body = body
        self.clientFraming = clientFraming
    }
}
