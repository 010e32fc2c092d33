internal import COpenSSL

/// OpenSSL's per-thread error queue. Every call into OpenSSL that can fail is
/// preceded by `clear()` and followed by `drain()`, so an error reported for a
/// call belongs to that call and not to an earlier one on the same thread.
enum OpenSSLErrorQueue {
    /// One queued error: its packed code and its reason text.
    struct Entry: Equatable {
        var code: UInt
        var library: Int32 { ERR_GET_LIB(code) }
        var reasonCode: Int32 { ERR_GET_REASON(code) }

        var reason: String {
            if let text = ERR_reason_error_string(code) {
                return String(cString: text)
            }
            return "OpenSSL error \(String(code, radix: 16))"
        }
    }

    /// Only when something is queued: `ERR_clear_error` resets all sixteen slots of the thread's
    /// queue, which cost more than a TLS record's bookkeeping when run around every read and write.
    static func clear() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    /// Removes every queued error, oldest first.
    static func drain() -> [Entry] {
        var entries: [Entry] = []
        while case let code = ERR_get_error(), code != 0 {
            entries.append(Entry(code: code))
        }
        return entries
    }

    /// Drains the queue into an error whose reason lists the OpenSSL reasons.
    static func error(_ kind: TLSError.Kind, _ what: String) -> TLSError {
        TLSError(kind: kind, reason: describe(what, drain()))
    }

    /// The queued reasons alone, e.g. "wrong version number".
    static func reasons(_ entries: [Entry], otherwise fallback: String) -> String {
        entries.isEmpty ? fallback : entries.map(\.reason).joined(separator: "; ")
    }

    /// `what`, followed by the queued reasons if any.
    static func describe(_ what: String, _ entries: [Entry]) -> String {
        let reasons = entries.map(\.reason)
        return reasons.isEmpty ? what : "\(what): \(reasons.joined(separator: "; "))"
    }
}
