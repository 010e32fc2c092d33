/// Reading the two framing fields, Transfer-Encoding and Content-Length, byte by byte in place.
extension HTTPHead {
    func framingFieldPresence() -> (transferEncoding: Bool, contentLength: Bool) {
        (has(.transferEncoding), has(.contentLength))
    }

    /// All Transfer-Encoding lines together must list exactly one coding, `chunked`
    /// (case-insensitive, RFC 9112 §7). We decode no other coding, and chunked must be final
    /// and applied once (RFC 9112 §6.1), so anything else is refused rather than passed through.
    /// Empty list elements are ignored (RFC 9110 §5.6.1).
    func requireChunkedOnly() throws(HTTP1Error) {
        var codings = 0
        var allChunked = true
        for field in fields where field.known == .transferEncoding {
            ASCII.forEachListElement(raw, field.value) { element in
                if element.isEmpty { return true }
                codings += 1
                if !ASCII.equalsLowercased(raw, element, "chunked") { allChunked = false }
                return true
            }
        }
        if codings != 1 || !allChunked { throw .unsupportedTransferEncoding }
    }

    /// RFC 9110 §8.6: Content-Length = 1*DIGIT. Several lines, or a comma list, are accepted only
    /// when every value is identical; no sign, no whitespace inside, no hex, no empty element.
    /// Values above Int64.max are refused so the length fits every signed API downstream.
    func contentLength() throws(HTTP1Error) -> UInt64 {
        var result: UInt64?
        for field in fields where field.known == .contentLength {
            try ASCII.forEachListElement(raw, field.value) { (element) throws(HTTP1Error) -> Bool in
                let value = try Self.decimal(raw, element)
                if let result, result != value { throw .conflictingContentLength }
                result = value
                return true
            }
        }
        guard let result else { throw .invalidContentLength }
        return result
    }

    private static func decimal(_ bytes: [UInt8], _ range: Range<Int>) throws(HTTP1Error) -> UInt64 {
        if range.isEmpty { throw .invalidContentLength }
        let max = UInt64(Int64.max)
        var value: UInt64 = 0
        for i in range {
            let b = bytes[i]
            guard ASCII.isDigit(b) else { throw .invalidContentLength }
            let digit = UInt64(b &- ASCII.zero)
            guard value <= (max - digit) / 10 else { throw .invalidContentLength }
            value = value * 10 + digit
        }
        return value
    }
}
