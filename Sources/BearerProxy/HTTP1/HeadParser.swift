/// Parses request and response heads in place from the caller's buffer.
///
/// Callers re-call with the grown buffer as bytes arrive. Each call re-scans from the start:
/// heads are small and capped, and a whole head arriving in one read (the common case) is
/// scanned exactly once. `nil` means "need more bytes, nothing invalid so far".
enum HeadParser {
    static func parseRequestHead(
        _ buffer: UnsafeRawBufferPointer, limits: HTTP1Limits = .default
    ) throws(HTTP1Error) -> (head: RequestHead, consumed: Int)? {
        do throws(HeadScanner.Stop) {
            return try requestHead(HeadScanner(bytes: buffer, limits: limits))
        } catch {
            switch error {
            case .needMore: return nil
            case .failed(let reason): throw reason
            }
        }
    }

    static func parseResponseHead(
        _ buffer: UnsafeRawBufferPointer, limits: HTTP1Limits = .default
    ) throws(HTTP1Error) -> (head: ResponseHead, consumed: Int)? {
        do throws(HeadScanner.Stop) {
            return try responseHead(HeadScanner(bytes: buffer, limits: limits))
        } catch {
            switch error {
            case .needMore: return nil
            case .failed(let reason): throw reason
            }
        }
    }

    // MARK: - Request

    private static func requestHead(_ scanner: HeadScanner) throws(HeadScanner.Stop) -> (head: RequestHead, consumed: Int) {
        var s = scanner
        let start = try s.skipLeadingEmptyLines()
        s.startHead(at: start)

        // The request line's content may occupy maxRequestLineLength bytes; the index after them
        // may only hold its CR. Whichever cap (line or head) is nearer is the one that applies.
        let lineCap = HeadScanner.saturatingAdd(HeadScanner.saturatingAdd(start, s.limits.maxRequestLineLength), 1)
        let (cap, capError): (Int, HTTP1Error) =
            lineCap <= s.headCap ? (lineCap, .requestLineTooLong) : (s.headCap, .headTooLarge)

        // RFC 9112 §3: request-line = method SP request-target SP HTTP-version, single SPs.
        var i = start
        while true {
            let b = try s.byte(at: i, cap: cap, capError: capError)
            if ASCII.isTchar(b) { i += 1; continue }
            if b == ASCII.space, i > start { break }
            throw s.unexpected(b, .invalidRequestLine)
        }
        let method = start..<i
        i += 1

        let targetStart = i
        let limit = min(s.bytes.count, cap)
        let space = s.bytes.firstIndex(of: ASCII.space, in: i..<limit)
        if let bad = s.bytes.firstNonTargetByte(in: i..<(space ?? limit)) {
            let b = s.bytes[bad]
            throw b == ASCII.cr ? .failed(.invalidRequestLine) : s.unexpected(b, .invalidTarget)
        }
        guard let space else { throw s.ranOut(at: limit, cap: cap, capError: capError) }
        if space == targetStart { throw .failed(.invalidRequestLine) }
        i = space
        let target = targetStart..<i

        // RFC 9113 §3.4: the HTTP/2 preface starts with "PRI * HTTP/2.0"; name it so the proxy can say so.
        let maybePreface = RequestTarget.isPrefaceStart(s.bytes, method: method, target: target)
        if !maybePreface, !RequestTarget.isValid(s.bytes, method: method, target: target) {
            throw .failed(.invalidTarget)
        }

        let v = try s.version(at: i + 1, terminator: ASCII.cr, cap: cap, capError: capError, invalid: .invalidRequestLine)
        if maybePreface { throw .failed(v.major == 2 && v.minor == 0 ? .http2Preface : .invalidTarget) }
        let version = try httpVersion(major: v.major, minor: v.minor)
        try s.expectLF(at: v.end + 1)

        var fields: [HTTPField] = []
        fields.reserveCapacity(16)
        let end = try s.fieldLines(from: v.end + 2, into: &fields)

        let head = RequestHead(
            raw: [UInt8](copying: UnsafeRawBufferPointer(rebasing: s.bytes[start..<end])),
            method: (method.lowerBound - start)..<(method.upperBound - start),
            target: (target.lowerBound - start)..<(target.upperBound - start),
            version: version,
            fields: fields
        )
        // RFC 9112 §3.2: reject an HTTP/1.1 request without Host, and any request with more than
        // one Host line; two Hosts are a classic way to make proxy and upstream route differently.
        let hosts = head.count(named: "host")
        if hosts > 1 || (hosts == 0 && version == .http1_1) { throw .failed(.invalidHost) }
        return (head, end)
    }

    // MARK: - Response

    private static func responseHead(_ scanner: HeadScanner) throws(HeadScanner.Stop) -> (head: ResponseHead, consumed: Int) {
        let s = scanner
        // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
        // No leading empty lines: §2.2's allowance is for servers reading requests only.
        let v = try s.version(at: 0, terminator: ASCII.space, cap: s.headCap, capError: .headTooLarge, invalid: .invalidStatusLine)
        let version = try httpVersion(major: v.major, minor: v.minor)

        var i = v.end + 1
        var status = 0
        for _ in 0..<3 {
            let b = try s.byte(at: i)
            if !ASCII.isDigit(b) { throw s.unexpected(b, .invalidStatusLine) }
            status = status * 10 + Int(b &- ASCII.zero)
            i += 1
        }
        // RFC 9110 §15: status codes are 100...599.
        if !(100...599).contains(status) { throw .failed(.invalidStatusLine) }
        // The SP before the reason is required even when the reason is empty (strict reading of §4).
        let sp = try s.byte(at: i)
        if sp != ASCII.space { throw s.unexpected(sp, .invalidStatusLine) }
        i += 1

        let reasonStart = i
        while true {
            let b = try s.byte(at: i)
            if b == ASCII.cr { break }
            // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), the same bytes a field value allows.
            if !ASCII.isFieldContent(b) { throw s.unexpected(b, .invalidStatusLine) }
            i += 1
        }
        let reason = reasonStart..<i
        try s.expectLF(at: i + 1)

        var fields: [HTTPField] = []
        fields.reserveCapacity(16)
        let end = try s.fieldLines(from: i + 2, into: &fields)
        let head = ResponseHead(
            raw: [UInt8](copying: UnsafeRawBufferPointer(rebasing: s.bytes[0..<end])),
            version: version,
            status: status,
            reason: reason,
            fields: fields
        )
        return (head, end)
    }

    // MARK: - Shared

    /// RFC 9112 §2.3: we speak 1.0 and 1.1; any other well-formed version is "unsupported"
    /// (the proxy answers 505), as opposed to garbage, which is a malformed start line.
    private static func httpVersion(major: UInt8, minor: UInt8) throws(HeadScanner.Stop) -> HTTPVersion {
        switch (major, minor) {
        case (1, 1): return .http1_1
        case (1, 0): return .http1_0
        default: throw .failed(.unsupportedVersion)
        }
    }
}
