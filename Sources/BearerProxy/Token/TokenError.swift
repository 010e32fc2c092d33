/// Why no token could be had. Descriptions are safe to log: they never contain a secret or token.
enum TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The token endpoint could not be reached or did not answer in time.
    case unreachable(String)
    /// The endpoint answered with an error status; OAuth `error` / `error_description` when given (RFC 6749 §5.2).
    case rejected(status: Int, error: String?, errorDescription: String?)
    /// The answer was not a usable token response.
    case invalidResponse(String)
    /// A previous failure is recent; the next attempt waits until the backoff has passed.
    case backingOff(lastFailure: String, retryAfterSeconds: Int)

    var description: String {
        switch self {
        case .unreachable(let why):
            return "token endpoint unreachable: \(why)"
        case .rejected(let status, let error, let errorDescription):
            var text = "token endpoint answered \(status)"
            if let error { text += " error=\(error)" }
            if let errorDescription { text += " error_description=\"\(errorDescription)\"" }
            return text
        case .invalidResponse(let why):
            return "invalid token response: \(why)"
        case .backingOff(let lastFailure, let retryAfter):
            return "\(lastFailure) (next attempt in \(retryAfter)s)"
        }
    }

    /// Seconds a caller should wait before trying again (for `Retry-After`).
    var retryAfterSeconds: Int {
        if case .backingOff(_, let seconds) = self { return max(1, seconds) }
        return 1
    }
}
