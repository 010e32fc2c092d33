/// The size caps of the HTTP/1.1 layer for one direction; the defaults are `SizeLimits`'.
/// All caps are enforced while bytes arrive, so a peer cannot make us buffer past them.
struct HTTP1Limits: Sendable {
    /// Request line without its CRLF (RFC 9112 §3; §3 recommends supporting at least 8000 octets).
    var maxRequestLineLength = SizeLimits.requestLine
    /// Whole head: start line, field lines and the final CRLF CRLF (leading empty lines excluded).
    var maxHeadSize = SizeLimits.requestHead
    var maxFieldCount = SizeLimits.requestFieldCount
    /// Hex digits in a chunk-size, leading zeros included. 16 digits fit a UInt64.
    var maxChunkSizeDigits = SizeLimits.chunkSizeDigits
    /// Bytes between the chunk-size and the CRLF of one chunk line (RFC 9112 §7.1.1 asks for a limit).
    var maxChunkExtensionLength = SizeLimits.chunkExtension
    /// Whole trailer section including its final CRLF (RFC 9112 §7.1.2).
    var maxTrailerSize = SizeLimits.trailer
    /// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
    var maxLeadingEmptyLines = 4

    static let `default` = HTTP1Limits()

    /// Upstream heads may be larger than client heads (many cookies, long policies).
    static let upstreamDefault = HTTP1Limits(
        maxRequestLineLength: SizeLimits.statusLine, maxHeadSize: SizeLimits.responseHead, maxFieldCount: SizeLimits.responseFieldCount)
}
