/// How the body of one message is delimited (RFC 9112 §6.3). Computed once from the head;
/// every ambiguity is an error rather than a guess, because the proxy and the upstream must agree.
enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(UInt64)
    case chunked
    /// Response only: the body ends when the server closes the connection (RFC 9112 §6.3 rule 8).
    case untilClose
}

extension RequestHead {
    /// RFC 9112 §6.3 for requests: Transfer-Encoding, else Content-Length, else no body.
    /// A request is never `.untilClose` (rule 7).
    func bodyFraming() throws(HTTP1Error) -> BodyFraming {
        try declaredFraming(version: version) ?? .none
    }
}

extension ResponseHead {
    /// RFC 9112 §6.3 for responses, in the RFC's order. Stricter than the RFC where it would
    /// guess: CL + TE, a non-chunked coding, and TE in HTTP/1.0 are errors (the proxy answers
    /// 502 and drops the upstream connection) instead of "TE wins" or "read until close".
    func bodyFraming(requestMethodIsHEAD: Bool) throws(HTTP1Error) -> BodyFraming {
        // Rule 1: HEAD responses, 1xx, 204 and 304 end at the head, whatever their fields say.
        if requestMethodIsHEAD || isInformational || status == 204 || status == 304 { return .none }
        // Rule 8: no framing fields, so the body runs until the server closes.
        return try declaredFraming(version: version) ?? .untilClose
    }
}

extension HTTPHead {
    /// The framing the fields declare (RFC 9112 §6.3 rules 3–6), the same for requests and
    /// responses: chunked, a Content-Length, or nil when neither field is present.
    func declaredFraming(version: HTTPVersion) throws(HTTP1Error) -> BodyFraming? {
        let presence = framingFieldPresence()
        if presence.transferEncoding {
            // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
            if version == .http1_0 { throw .transferEncodingInHTTP10 }
            // RFC 9112 §6.3 rule 3: CL + TE "ought to be handled as an error"; it is the smuggling classic.
            if presence.contentLength { throw .contentLengthWithTransferEncoding }
            try requireChunkedOnly()
            return .chunked
        }
        if presence.contentLength { return .contentLength(try contentLength()) }
        return nil
    }
}
