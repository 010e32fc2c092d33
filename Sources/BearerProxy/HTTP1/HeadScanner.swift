/// A cursor over a possibly incomplete head in the caller's buffer.
///
/// Whether a byte is missing (wait for more) or lies past a cap (reject now) is decided in one
/// place, `byte(at:cap:capError:)`, so every grammar rule below is incremental for free: a rule
/// sees exactly the bytes a whole-buffer parse would see, and a prefix of a message either asks
/// for more or fails with the same error the whole message fails with. A scanner lives for one
/// call; what must survive between calls is kept by the caller (`FieldLinesProgress`).
struct HeadScanner {
    enum Stop: Error {
        case needMore
        case failed(HTTP1Error)
    }

    let bytes: UnsafeRawBufferPointer
    let limits: HTTP1Limits
    /// Index of the first byte of the start line (after any ignored empty lines).
    private(set) var headStart = 0
    /// First index that would make the head longer than `maxHeadSize`.
    private(set) var headCap: Int

    init(bytes: UnsafeRawBufferPointer, limits: HTTP1Limits) {
        self.bytes = bytes
        self.limits = limits
        self.headCap = Self.saturatingAdd(0, limits.maxHeadSize)
    }

    static func saturatingAdd(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    mutating func startHead(at index: Int) {
        headStart = index
        headCap = Self.saturatingAdd(index, limits.maxHeadSize)
    }

    /// Needing a byte at or past `cap` means the message is already over that limit, whether or
    /// not the byte has arrived; so the cap is checked before availability.
    @inline(__always)
    func byte(at i: Int, cap: Int, capError: HTTP1Error) throws(Stop) -> UInt8 {
        if i >= cap { throw .failed(capError) }
        if i >= bytes.count { throw .needMore }
        return bytes[i]
    }

    /// Why a bulk scan that stopped at `limit` (the lesser of the input's end and `cap`) cannot go on.
    func ranOut(at limit: Int, cap: Int, capError: HTTP1Error) -> Stop {
        limit >= cap ? .failed(capError) : .needMore
    }

    @inline(__always)
    func byte(at i: Int) throws(Stop) -> UInt8 {
        try byte(at: i, cap: headCap, capError: .headTooLarge)
    }

    /// An unexpected byte: a LF here can only be a bare LF (RFC 9112 §2.2), otherwise `error`.
    @inline(__always)
    func unexpected(_ b: UInt8, _ error: HTTP1Error) -> Stop {
        .failed(b == ASCII.lf ? .bareLineFeed : error)
    }

    /// The byte after a CR must be LF (RFC 9112 §2.2: a bare CR is invalid outside content).
    @inline(__always)
    func expectLF(at i: Int) throws(Stop) {
        if try byte(at: i) != ASCII.lf { throw .failed(.bareCarriageReturn) }
    }

    /// RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) received before the
    /// request line. We ignore a few, never a bare LF. Returns where the request line starts.
    func skipLeadingEmptyLines() throws(Stop) -> Int {
        var i = 0
        var lines = 0
        while true {
            guard i < bytes.count else { throw .needMore }
            let b = bytes[i]
            if b == ASCII.lf { throw .failed(.bareLineFeed) }
            if b != ASCII.cr { return i }
            if lines == limits.maxLeadingEmptyLines { throw .failed(.invalidRequestLine) }
            guard i + 1 < bytes.count else { throw .needMore }
            if bytes[i + 1] != ASCII.lf { throw .failed(.bareCarriageReturn) }
            i += 2
            lines += 1
        }
    }

    /// Matches `HTTP/` DIGIT `.` DIGIT followed by `terminator`, failing at the first wrong byte
    /// (RFC 9112 §2.3: the name is case-sensitive). Returns the two digits and the terminator's index.
    func version(
        at start: Int, terminator: UInt8, cap: Int, capError: HTTP1Error, invalid: HTTP1Error
    ) throws(Stop) -> (major: UInt8, minor: UInt8, end: Int) {
        // "HTTP/" packed little-endian, so no array is built per call.
        let httpSlash: UInt64 = 0x2F_50_54_54_48
        var i = start
        for k in 0..<5 {
            let b = try byte(at: i, cap: cap, capError: capError)
            if b != UInt8(truncatingIfNeeded: httpSlash >> UInt64(8 * k)) { throw unexpected(b, invalid) }
            i += 1
        }
        let major = try byte(at: i, cap: cap, capError: capError)
        if !ASCII.isDigit(major) { throw unexpected(major, invalid) }
        let dot = try byte(at: i + 1, cap: cap, capError: capError)
        if dot != ASCII.dot { throw unexpected(dot, invalid) }
        let minor = try byte(at: i + 2, cap: cap, capError: capError)
        if !ASCII.isDigit(minor) { throw unexpected(minor, invalid) }
        let term = try byte(at: i + 3, cap: cap, capError: capError)
        if term != terminator { throw unexpected(term, invalid) }
        return (major &- ASCII.zero, minor &- ASCII.zero, i + 3)
    }

    /// Field lines up to and including the empty line that ends the head (RFC 9112 §5).
    /// Appends fields to `progress` with positions relative to `headStart`; returns the index after
    /// the final CRLF. When it runs out of bytes, `progress` records what is already validated, so
    /// the next call with a longer buffer resumes there instead of re-reading the head.
    func fieldLines(_ progress: inout FieldLinesProgress) throws(Stop) -> Int {
        while true {
            let lineStart = progress.lineStart
            let limit = Swift.min(bytes.count, headCap)
            if progress.colon == nil {
                if progress.scannedTo == lineStart {
                    let first = try byte(at: lineStart)
                    if first == ASCII.cr {
                        try expectLF(at: lineStart + 1)
                        return lineStart + 2
                    }
                    // RFC 9112 §5.2: obs-fold is rejected; §2.2: so is whitespace before the first field.
                    if ASCII.isWhitespace(first) { throw .failed(.obsoleteLineFolding) }
                    if progress.fields.count == limits.maxFieldCount { throw .failed(.tooManyFields) }
                }
                // RFC 9112 §5.1: field-name is a token, and no whitespace is allowed before the colon.
                var i = progress.scannedTo
                while i < limit, ASCII.isTchar(bytes[i]) { i += 1 }
                progress.scannedTo = i
                if i == limit { throw ranOut(at: limit, cap: headCap, capError: .headTooLarge) }
                let afterName = bytes[i]
                if afterName != ASCII.colon || i == lineStart {
                    throw ASCII.isWhitespace(afterName) ? .failed(.whitespaceBeforeColon) : unexpected(afterName, .invalidFieldName)
                }
                progress.colon = i
                progress.scannedTo = i + 1
            }
            let colon = progress.colon!

            // RFC 9110 §5.5: CR, LF and NUL are never allowed in a value; nor other CTLs but HTAB.
            let from = progress.scannedTo
            let cr = bytes.firstIndex(of: ASCII.cr, in: from..<limit)
            if let bad = bytes.firstNonFieldContent(in: from..<(cr ?? limit)) {
                throw unexpected(bytes[bad], .invalidFieldValue)
            }
            progress.scannedTo = cr ?? limit
            guard let cr else { throw ranOut(at: limit, cap: headCap, capError: .headTooLarge) }
            try expectLF(at: cr + 1)

            // RFC 9112 §5.1: OWS around the value is not part of it.
            var valueStart = colon + 1
            while valueStart < cr, ASCII.isWhitespace(bytes[valueStart]) { valueStart += 1 }
            var valueEnd = cr
            while valueEnd > valueStart, ASCII.isWhitespace(bytes[valueEnd - 1]) { valueEnd -= 1 }
            let known = KnownField.recognise(bytes, lineStart..<colon)
            progress.known.insert(known)
            progress.fields.append(HTTPField(
                name: (lineStart - headStart)..<(colon - headStart),
                value: (valueStart - headStart)..<(valueEnd - headStart),
                known: known
            ))
            progress.startLine(at: cr + 2)
        }
    }
}

/// How far `HeadScanner.fieldLines` got: fields completed so far, and within the unfinished line,
/// where its colon is (once seen) and up to where its bytes are known to be valid.
struct FieldLinesProgress: Sendable {
    private(set) var lineStart: Int
    var fields: [HTTPField] = []
    /// The known fields among them.
    var known = KnownFields()
    var colon: Int?
    var scannedTo: Int

    init(firstLine: Int) {
        lineStart = firstLine
        scannedTo = firstLine
        fields.reserveCapacity(16)
    }

    mutating func startLine(at index: Int) {
        lineStart = index
        scannedTo = index
        colon = nil
    }
}
