/// Byte-at-a-time state machine for the chunked transfer coding (RFC 9112 §7.1).
///
/// Chunk data is handed out as sub-spans of the input, never copied; only the framing bytes
/// (size lines, CRLFs, trailers) go through `step`. Chunk extensions are validated and dropped;
/// the trailer section is validated and dropped (RFC 9112 §7.1.2: a recipient may discard trailers).
struct ChunkedDecoder: Sendable {
    private enum State: Sendable, Equatable {
        case sizeStart, size
        // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
        case beforeSemicolon, extensionNameStart, extensionName, afterExtensionName
        case extensionValueStart, extensionToken, extensionQuoted, extensionQuotedPair, afterQuoted
        case sizeLineLF
        case data, dataCR, dataLF
        case trailerLineStart, trailerName, trailerValue, trailerLF, finalLF
        case done
    }

    private let limits: HTTP1Limits
    private var state = State.sizeStart
    /// The chunk-size being read, then the bytes of chunk data still to come.
    private var chunkSize: UInt64 = 0
    private var sizeDigits = 0
    private var extensionLength = 0
    private var trailerSize = 0

    init(limits: HTTP1Limits) {
        self.limits = limits
    }

    /// True once the last chunk, the trailer section and its final CRLF have been consumed.
    var isComplete: Bool { state == .done }

    /// Consumes up to the end of the chunked body; bytes after it are left for the next message.
    mutating func decode(
        _ input: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void
    ) throws(HTTP1Error) -> Int {
        var i = 0
        let count = input.count
        while i < count, state != .done {
            if state == .data {
                let take = Int(min(UInt64(count - i), chunkSize))
                payload(UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                chunkSize -= UInt64(take)
                if chunkSize == 0 { state = .dataCR }
                continue
            }
            try step(input[i])
            i += 1
        }
        return i
    }

    private mutating func step(_ b: UInt8) throws(HTTP1Error) {
        switch state {
        case .sizeStart:
            // RFC 9112 §7.1: chunk-size = 1*HEXDIG; no sign, no leading whitespace, no "0x".
            guard let digit = ASCII.hexValue(b) else { throw sizeLineError(b, .invalidChunkSize) }
            chunkSize = UInt64(digit)
            sizeDigits = 1
            extensionLength = 0
            state = .size
        case .size:
            if let digit = ASCII.hexValue(b) {
                // RFC 9112 §7.1: guard against integer overflow; leading zeros count toward the cap.
                sizeDigits += 1
                if sizeDigits > limits.maxChunkSizeDigits || chunkSize > UInt64.max >> 4 { throw .invalidChunkSize }
                chunkSize = chunkSize << 4 | UInt64(digit)
            } else if b == ASCII.cr {
                state = .sizeLineLF
            } else if b == ASCII.semicolon {
                try countExtensionByte()
                state = .extensionNameStart
            } else if ASCII.isWhitespace(b) {
                try countExtensionByte()
                state = .beforeSemicolon
            } else {
                throw sizeLineError(b, .invalidChunkSize)
            }
        case .beforeSemicolon, .extensionNameStart, .extensionName, .afterExtensionName,
             .extensionValueStart, .extensionToken, .extensionQuoted, .extensionQuotedPair, .afterQuoted:
            try stepExtension(b)
        case .sizeLineLF:
            guard b == ASCII.lf else { throw .invalidChunkTerminator }
            if chunkSize == 0 {
                trailerSize = 0
                state = .trailerLineStart
            } else {
                state = .data
            }
        case .data:
            preconditionFailure("chunk data is consumed in bulk by decode")
        case .dataCR:
            // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF.
            guard b == ASCII.cr else { throw .invalidChunkTerminator }
            state = .dataLF
        case .dataLF:
            guard b == ASCII.lf else { throw .invalidChunkTerminator }
            state = .sizeStart
        case .trailerLineStart, .trailerName, .trailerValue, .trailerLF, .finalLF:
            try stepTrailer(b)
        case .done:
            preconditionFailure("decode stops at the end of the body")
        }
    }

    /// Chunk extensions are parsed to the letter of RFC 9112 §7.1.1 (so a malformed one cannot
    /// hide a CRLF another parser would honour) and bounded by `maxChunkExtensionLength`.
    private mutating func stepExtension(_ b: UInt8) throws(HTTP1Error) {
        let ends = b == ASCII.cr
        if !ends { try countExtensionByte() }
        switch state {
        case .beforeSemicolon:
            // BWS is only allowed before a ";": "5 \r\n" is not a valid chunk line.
            if ASCII.isWhitespace(b) { return }
            guard b == ASCII.semicolon else { throw extensionError(b) }
            state = .extensionNameStart
        case .extensionNameStart:
            if ASCII.isWhitespace(b) { return }
            guard ASCII.isTchar(b) else { throw extensionError(b) }
            state = .extensionName
        case .extensionName:
            if ASCII.isTchar(b) { return }
            if ends { state = .sizeLineLF }
            else if ASCII.isWhitespace(b) { state = .afterExtensionName }
            else if b == ASCII.equals { state = .extensionValueStart }
            else if b == ASCII.semicolon { state = .extensionNameStart }
            else { throw extensionError(b) }
        case .afterExtensionName:
            if ASCII.isWhitespace(b) { return }
            if b == ASCII.equals { state = .extensionValueStart }
            else if b == ASCII.semicolon { state = .extensionNameStart }
            else { throw extensionError(b) }
        case .extensionValueStart:
            // chunk-ext-val = token / quoted-string
            if ASCII.isWhitespace(b) { return }
            if b == ASCII.quote { state = .extensionQuoted }
            else if ASCII.isTchar(b) { state = .extensionToken }
            else { throw extensionError(b) }
        case .extensionToken:
            if ASCII.isTchar(b) { return }
            try afterValue(b)
        case .extensionQuoted:
            // RFC 9110 §5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            if b == ASCII.quote { state = .afterQuoted }
            else if b == ASCII.backslash { state = .extensionQuotedPair }
            else if !ASCII.isFieldContent(b) { throw extensionError(b) }
        case .extensionQuotedPair:
            // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
            guard ASCII.isFieldContent(b) else { throw extensionError(b) }
            state = .extensionQuoted
        case .afterQuoted:
            try afterValue(b)
        default:
            preconditionFailure("not an extension state")
        }
    }

    private mutating func afterValue(_ b: UInt8) throws(HTTP1Error) {
        if b == ASCII.cr { state = .sizeLineLF }
        else if ASCII.isWhitespace(b) { state = .beforeSemicolon }
        else if b == ASCII.semicolon { state = .extensionNameStart }
        else { throw extensionError(b) }
    }

    /// RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ), with the same field-line rules
    /// as the head (token name, no whitespace before the colon, no obs-fold, no CTLs in the value).
    private mutating func stepTrailer(_ b: UInt8) throws(HTTP1Error) {
        trailerSize += 1
        if trailerSize > limits.maxTrailerSize { throw .trailerTooLarge }
        switch state {
        case .trailerLineStart:
            if b == ASCII.cr { state = .finalLF }
            else if ASCII.isTchar(b) { state = .trailerName }
            else { throw .invalidTrailer }
        case .trailerName:
            if ASCII.isTchar(b) { return }
            guard b == ASCII.colon else { throw .invalidTrailer }
            state = .trailerValue
        case .trailerValue:
            if b == ASCII.cr { state = .trailerLF }
            else if !ASCII.isFieldContent(b) { throw .invalidTrailer }
        case .trailerLF:
            guard b == ASCII.lf else { throw .invalidTrailer }
            state = .trailerLineStart
        case .finalLF:
            guard b == ASCII.lf else { throw .invalidTrailer }
            state = .done
        default:
            preconditionFailure("not a trailer state")
        }
    }

    private mutating func countExtensionByte() throws(HTTP1Error) {
        extensionLength += 1
        if extensionLength > limits.maxChunkExtensionLength { throw .chunkExtensionTooLong }
    }

    /// A LF where the chunk line should continue is a bare LF: the CRLF is what is missing.
    private func sizeLineError(_ b: UInt8, _ error: HTTP1Error) -> HTTP1Error {
        b == ASCII.lf ? .invalidChunkTerminator : error
    }

    private func extensionError(_ b: UInt8) -> HTTP1Error {
        b == ASCII.lf ? .invalidChunkTerminator : .invalidChunkExtension
    }
}
