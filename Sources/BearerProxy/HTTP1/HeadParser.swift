/// One-shot entry points: parse a head from the start of `buffer`.
///
/// Each call starts from scratch, which is what a caller wants when a whole head usually arrives
/// in one read. A connection that re-calls as bytes trickle in should keep a `RequestHeadParser`
/// (or `ResponseHeadParser`) instead: it resumes where the last call stopped, so a head dribbled
/// one byte at a time costs linear, not quadratic, time. Both give identical results.
enum HeadParser {
    /// Returns nil if more bytes are needed and nothing seen so far is invalid; the head and the
    /// bytes it used (leading empty lines included) when complete; or throws at the first byte
    /// that makes the input invalid or over a limit.
    static func parseRequestHead(
        _ buffer: UnsafeRawBufferPointer, limits: HTTP1Limits = .default
    ) throws(HTTP1Error) -> (head: RequestHead, consumed: Int)? {
        var parser = RequestHeadParser(limits: limits)
        return try parser.parse(buffer)
    }

    static func parseResponseHead(
        _ buffer: UnsafeRawBufferPointer, limits: HTTP1Limits = .default
    ) throws(HTTP1Error) -> (head: ResponseHead, consumed: Int)? {
        var parser = ResponseHeadParser(limits: limits)
        return try parser.parse(buffer)
    }

    /// RFC 9112 §2.3: we speak 1.0 and 1.1; any other well-formed version is "unsupported"
    /// (the proxy answers 505), as opposed to garbage, which is a malformed start line.
    static func httpVersion(major: UInt8, minor: UInt8) throws(HeadScanner.Stop) -> HTTPVersion {
        switch (major, minor) {
        case (1, 1): return .http1_1
        case (1, 0): return .http1_0
        default: throw .failed(.unsupportedVersion)
        }
    }
}
