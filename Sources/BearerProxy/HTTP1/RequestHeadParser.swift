/// Incremental request-head parser for one connection.
///
/// Call `parse` with the connection's buffer each time it grows; earlier bytes must stay at the
/// same offsets. The request line is parsed once, and field lines resume where the last call
/// stopped. After returning a head or throwing, the parser is back at its initial state, ready
/// for the next message (whose buffer then starts at that message's first byte).
struct RequestHeadParser: Sendable {
    private struct RequestLine: Sendable {
        var headStart: Int
        var method: Range<Int>
        var target: Range<Int>
        var version: HTTPVersion
        var end: Int
    }

    private let limits: HTTP1Limits
    private var requestLine: RequestLine?
    private var progress: FieldLinesProgress?
    /// Buffer length at the last call; the buffer may only grow while a head is incomplete.
    private var seenCount = 0

    init(limits: HTTP1Limits = .default) {
        self.limits = limits
    }

    mutating func parse(_ buffer: UnsafeRawBufferPointer) throws(HTTP1Error) -> (head: RequestHead, consumed: Int)? {
        precondition(buffer.count >= seenCount, "the buffer shrank while a head was incomplete")
        seenCount = buffer.count
        do throws(HeadScanner.Stop) {
            let result = try resume(HeadScanner(bytes: buffer, limits: limits))
            self = RequestHeadParser(limits: limits)
            return result
        } catch {
            switch error {
            case .needMore:
                return nil
            case .failed(let reason):
                self = RequestHeadParser(limits: limits)
                throw reason
            }
        }
    }

    private mutating func resume(_ scanner: HeadScanner) throws(HeadScanner.Stop) -> (head: RequestHead, consumed: Int) {
        var s = scanner
        let line: RequestLine
        if let known = requestLine {
            line = known
            s.startHead(at: known.headStart)
        } else {
            line = try Self.requestLine(&s)
            requestLine = line
        }

        // Take the progress out so its field array stays uniquely referenced while appending.
        var fieldsProgress = progress ?? FieldLinesProgress(firstLine: line.end)
        progress = nil
        let end: Int
        do {
            end = try s.fieldLines(&fieldsProgress)
        } catch {
            progress = fieldsProgress
            throw error
        }

        let start = line.headStart
        let head = RequestHead(
            raw: [UInt8](copying: UnsafeRawBufferPointer(rebasing: s.bytes[start..<end])),
            method: (line.method.lowerBound - start)..<(line.method.upperBound - start),
            target: (line.target.lowerBound - start)..<(line.target.upperBound - start),
            version: line.version,
            fields: fieldsProgress.fields,
            knownFields: fieldsProgress.known
        )
        // RFC 9112 §3.2: reject an HTTP/1.1 request without Host, and any request with more than
        // one Host line; two Hosts are a classic way to make proxy and upstream route differently.
        let hosts = head.count(named: .host)
        if hosts > 1 || (hosts == 0 && line.version == .http1_1) { throw .failed(.invalidHost) }
        return (head, end)
    }

    /// Leading empty lines and the request line, through its CRLF. Bounded by maxRequestLineLength
    /// (and maxHeadSize), so re-reading it on each call while it is incomplete stays cheap.
    private static func requestLine(_ s: inout HeadScanner) throws(HeadScanner.Stop) -> RequestLine {
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
        let target = targetStart..<space

        // RFC 9113 §3.4: the HTTP/2 preface starts with "PRI * HTTP/2.0"; name it so the proxy can say so.
        let maybePreface = RequestTarget.isPrefaceStart(s.bytes, method: method, target: target)
        if !maybePreface, !RequestTarget.isValid(s.bytes, method: method, target: target) {
            throw .failed(.invalidTarget)
        }

        let v = try s.version(at: space + 1, terminator: ASCII.cr, cap: cap, capError: capError, invalid: .invalidRequestLine)
        if maybePreface { throw .failed(v.major == 2 && v.minor == 0 ? .http2Preface : .invalidTarget) }
        let version = try HeadParser.httpVersion(major: v.major, minor: v.minor)
        try s.expectLF(at: v.end + 1)
        return RequestLine(headStart: start, method: method, target: target, version: version, end: v.end + 2)
    }
}
