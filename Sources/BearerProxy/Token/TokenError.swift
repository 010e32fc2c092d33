/// Why no token could be had. Descriptions are safe to log: they never contain a secret or token.
enum TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The token endpoint (or the discovery document) could not be reached or did not answer in time.
    case unreachable(String)
    /// The endpoint answered with an error status; OAuth `error` / `error_description` when given
    /// (RFC 6749 §5.2), and the `Retry-After` seconds when sent (RFC 9110 §10.2.3).
    case rejected(status: Int, error: String?, errorDescription: String?, retryAfterSeconds: Int? = nil)
    /// The answer was not a token response (not JSON, no `access_token`): perhaps a gateway's
    /// error page, so asking again may work.
    case invalidResponse(String)
    /// A token response whose token can never become a `Bearer` header: another `token_type`
    /// (`N_A`, `DPoP`, `mac`), an empty token, a space or control character in it. The server
    /// will answer the same way next time, so this is retried only slowly.
    case unusable(String)
    /// A previous failure is recent; the next attempt waits until the backoff has passed.
    case backingOff(lastFailure: String, retryAfterSeconds: Int)
    /// This side: the secret or key file cannot be read, or the assertion cannot be signed.
    case credentials(String)
    /// The issuer's metadata is unusable: issuer mismatch, no token endpoint, method not offered.
    case discovery(String)

    /// How a failure is retried.
    enum Kind: Sendable, Equatable {
        /// Network, 5xx, 429, malformed answers: retried with a short exponential backoff.
        case transient
        /// The server says this client is misconfigured; retried only slowly.
        case configuration
    }

    /// Codes some token endpoints send for an outage on their side (RFC 6749 §4.1.2.1 defines them
    /// for the authorization endpoint): worth asking again soon, whatever the status.
    static let transientErrorCodes: Set<String> = ["temporarily_unavailable", "server_error", "slow_down"]

    var kind: Kind {
        switch self {
        case .unreachable, .invalidResponse, .backingOff:
            return .transient
        case .credentials, .discovery, .unusable:
            return .configuration
        case .rejected(let status, let error, _, _):
            if status == 429 || status == 408 || status >= 500 { return .transient }
            if let error, Self.transientErrorCodes.contains(error) { return .transient }
            // RFC 6749 §5.2 codes (invalid_client, invalid_scope, ...) and any other 4xx, or an
            // `error` in a 200, would be answered the same way next time.
            return .configuration
        }
    }

    /// The server's `Retry-After`, when it sent one.
    var serverRetryAfterSeconds: Int? {
        if case .rejected(_, _, _, let seconds) = self { return seconds }
        return nil
    }

    var description: String {
        switch self {
        case .unreachable(let why):
            return "token endpoint unreachable: \(why)"
        case .rejected(let status, let error, let errorDescription, _):
            var text = status == 200 ? "token endpoint answered 200 with an error" : "token endpoint answered \(status)"
            if let error { text += " error=\(error)" }
            if let errorDescription { text += " error_description=\"\(errorDescription)\"" }
            return text
        case .invalidResponse(let why):
            return "invalid token response: \(why)"
        case .unusable(let why):
            return "unusable token response: \(why)"
        case .backingOff(let lastFailure, let retryAfter):
            return "\(lastFailure) (next attempt in \(retryAfter)s)"
        case .credentials(let why):
            return "client credentials unusable: \(why)"
        case .discovery(let why):
            return "token endpoint discovery failed: \(why)"
        }
    }

    /// Seconds a caller should wait before trying again (for `Retry-After`).
    var retryAfterSeconds: Int {
        if case .backingOff(_, let seconds) = self { return max(1, seconds) }
        return 1
    }
}
