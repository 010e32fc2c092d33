/// Incremental response-head parser for one upstream connection; same contract as
/// `RequestHeadParser`: re-call as the buffer grows, and it resumes at the unfinished field line.
struct ResponseHeadParser: Sendable {
    private struct StatusLine: Sendable {
        var version: HTTPVersion
        var status: Int
        var reason: Range<Int>
        var end: Int
    }

    private let limits: HTTP1Limits
    private var statusLine: StatusLine?
    private var progress: FieldLinesProgress?
    /// Buffer length at the last call; the buffer may only grow while a head is incomplete.
    private var seenCount = 0

    init(limits: HTTP1Limits = .default) {
        self.limits = limits
    }

    mutating func parse(_ buffer: UnsafeRawBufferPointer) throws(HTTP1Error) -> (head: ResponseHead, consumed: Int)? {
        precondition(buffer.count >= seenCount, "the buffer shrank while a head was incomplete")
        seenCount = buffer.count
        do throws(HeadScanner.Stop) {
            let result = try resume(HeadScanner(bytes: buffer, limits: limits))
            self = ResponseHeadParser(limits: limits)
            return result
        } catch {
            switch error {
            case .needMore:
                return nil
            case .failed(let reason):
                self = ResponseHeadParser(limits: limits)
                throw reason
            }
        }
    }

    private mutating func resume(_ scanner: HeadScanner) throws(HeadScanner.Stop) -> (head: ResponseHead, consumed: Int) {
        let s = scanner
        let line: StatusLine
        if let known = statusLine {
            line = known
        } else {
            line = try Self.statusLine(s)
            statusLine = line
        }

        var fieldsProgress = progress ?? FieldLinesProgress(firstLine: line.end)
        progress = nil
        let end: Int
        do {
            end = try s.fieldLines(&fieldsProgress)
        } catch {
            progress = fieldsProgress
            throw error
        }
        let head = ResponseHead(
            raw: [UInt8](copying: UnsafeRawBufferPointer(rebasing: s.bytes[0..<end])),
            version: line.version,
            status: line.status,
            reason: line.reason,
            fields: fieldsProgress.fields,
            knownFields: fieldsProgress.known
        )
        return (head, end)
    }

    /// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ], then CRLF.
    /// No leading empty lines: §2.2's allowance is for servers reading requests only.
    private static func statusLine(_ s: HeadScanner) throws(HeadScanner.Stop) -> StatusLine {
        let v = try s.version(at: 0, terminator: ASCII.space, cap: s.headCap, capError: .headTooLarge, invalid: .invalidStatusLine)
        let version = try HeadParser.httpVersion(major: v.major, minor: v.minor)

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
        try s.expectLF(at: i + 1)
        return StatusLine(version: version, status: status, reason: reasonStart..<i, end: i + 2)
    }
}
