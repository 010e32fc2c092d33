/// Every size cap of the HTTP/1.1 layer, with its default, in one place.
/// All caps are enforced while bytes arrive, so a peer cannot make us buffer past them.
struct HTTP1Limits: Sendable {
    /// Request line without its CRLF (RFC 9112 §3; §3 recommends supporting at least 8000 octets).
    var maxRequestLineLength = 8 * 1024
    /// Whole head: start line, field lines and the final CRLF CRLF (leading empty lines excluded).
    var maxHeadSize = 32 * 1024
    var maxFieldCount = 100
    /// Hex digits in a chunk-size, leading zeros included. 16 digits fit a UInt64.
    var maxChunkSizeDigits = 16
    /// Bytes between the chunk-size and the CRLF of one chunk line (RFC 9112 §7.1.1 asks for a limit).
    var maxChunkExtensionLength = 1024
    /// Whole trailer section including its final CRLF (RFC 9112 §7.1.2).
    var maxTrailerSize = 8 * 1024
    /// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
    var maxLeadingEmptyLines = 4

    static let `default` = HTTP1Limits()
}
