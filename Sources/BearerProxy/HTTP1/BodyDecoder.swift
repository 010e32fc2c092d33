/// Streaming decoder for one message body whose framing is known. Payload bytes are handed
/// out as sub-spans of the input (never copied), and decoding stops exactly at the end of the
/// message: whatever follows belongs to the next message on the connection.
struct BodyDecoder: Sendable {
    private enum Mode: Sendable {
        case fixed(remaining: UInt64)
        case chunked(ChunkedDecoder)
        case untilClose
        case done
        /// After an error the framing is unknown; keep failing the same way.
        case failed(HTTP1Error)
    }

    private var mode: Mode

    init(framing: BodyFraming, limits: HTTP1Limits = .default) {
        switch framing {
        case .none, .contentLength(0): mode = .done
        case .contentLength(let length): mode = .fixed(remaining: length)
        case .chunked: mode = .chunked(ChunkedDecoder(limits: limits))
        case .untilClose: mode = .untilClose
        }
    }

    var isComplete: Bool {
        if case .done = mode { return true }
        return false
    }

    /// Consumes body bytes from the front of `input`, calling `payload` with each non-empty run of
    /// payload. Returns how many bytes of `input` belong to this body (all of them, unless it ended).
    mutating func decode(
        _ input: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void
    ) throws(HTTP1Error) -> Int {
        switch mode {
        case .done:
            return 0
        case .failed(let error):
            throw error
        case .fixed(let remaining):
            let take = Int(min(UInt64(input.count), remaining))
            if take > 0 { payload(UnsafeRawBufferPointer(rebasing: input[0..<take])) }
            let left = remaining - UInt64(take)
            mode = left == 0 ? .done : .fixed(remaining: left)
            return take
        case .chunked(var decoder):
            do {
                let used = try decoder.decode(input, payload: payload)
                mode = decoder.isComplete ? .done : .chunked(decoder)
                return used
            } catch {
                mode = .failed(error)
                throw error
            }
        case .untilClose:
            if !input.isEmpty { payload(input) }
            return input.count
        }
    }

    /// The peer closed the connection. That ends an `.untilClose` body (RFC 9112 §6.3 rule 8);
    /// for every other framing, an unfinished body is truncated (RFC 9112 §8: incomplete message).
    mutating func finishAtEOF() throws(HTTP1Error) {
        switch mode {
        case .done: return
        case .untilClose: mode = .done
        case .failed(let error): throw error
        case .fixed, .chunked:
            mode = .failed(.truncatedBody)
            throw .truncatedBody
        }
    }
}
