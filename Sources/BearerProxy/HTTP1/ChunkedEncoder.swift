/// Writes the chunked transfer coding (RFC 9112 §7.1) into a caller-owned buffer, so
/// re-framing a stream costs no allocation beyond the buffer's own growth.
enum ChunkedEncoder {
    private static let hexDigits: StaticString = "0123456789abcdef"

    /// "<hex size>\r\n". A zero size is refused: "0\r\n" would end the body early.
    static func appendChunkHeader(size: Int, to out: inout [UInt8]) {
        precondition(size > 0, "a zero-size chunk is the last-chunk; use appendLastChunk")
        var shift = (Int.bitWidth - size.leadingZeroBitCount - 1) / 4 * 4
        hexDigits.withUTF8Buffer { digits in
            while shift >= 0 {
                out.append(digits[(size >> shift) & 0xF])
                shift -= 4
            }
        }
        out.append(ASCII.cr)
        out.append(ASCII.lf)
    }

    /// The CRLF that ends each chunk's data.
    static func appendChunkEnd(to out: inout [UInt8]) {
        out.append(ASCII.cr)
        out.append(ASCII.lf)
    }

    /// last-chunk and an empty trailer section: "0\r\n\r\n". Trailers are never forwarded.
    static func appendLastChunk(to out: inout [UInt8]) {
        out.append(contentsOf: [ASCII.zero, ASCII.cr, ASCII.lf, ASCII.cr, ASCII.lf])
    }
}
