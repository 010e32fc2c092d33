/// Every size cap of the proxy and its default, in one place. Each is enforced while bytes arrive,
/// so no peer can make the proxy hold more than these. The `limits:` section of the config file
/// can change the first group; the others are fixed.
enum SizeLimits {
    // MARK: Client requests (defaults of `limits:`)

    /// Request line without its CRLF (RFC 9112 §3 recommends supporting at least 8000 octets).
    static let requestLine = 8 * 1024
    /// Whole request head: request line, field lines and the final CRLF CRLF.
    static let requestHead = 64 * 1024
    static let requestFieldCount = 100

    // MARK: Both directions

    /// Hex digits in a chunk-size, leading zeros included: 16 fit a UInt64.
    static let chunkSizeDigits = 16
    /// Bytes between a chunk-size and its CRLF (RFC 9112 §7.1.1 asks for a limit).
    static let chunkExtension = 1024
    /// Whole trailer section with its final CRLF (RFC 9112 §7.1.2); trailers are never forwarded.
    static let trailer = 8 * 1024

    // MARK: Upstream responses

    /// Larger than a client's: many `Set-Cookie` lines, long security policies.
    static let responseHead = 64 * 1024
    static let responseFieldCount = 200
    static let statusLine = 8 * 1024
    /// 100 and 103 before the final answer; a server sending dozens is broken.
    static let interimResponses = 32

    // MARK: Buffers on the request path

    /// Output waiting for a slow reader beyond which the other side stops being read (back-pressure).
    static let highWaterMark = 64 * 1024
    /// Pipelined client bytes held while the current request is in flight.
    static let pipelinedInput = 64 * 1024
    /// One read per event loop, shared by its connections.
    static let readBuffer = 64 * 1024
    /// A drained output queue keeps at most this much capacity, so an idle connection does not hold
    /// on to the high-water mark of a past large transfer.
    static let keptQueueCapacity = 64 * 1024
    /// Request bodies kept for a replay after a 401 (`upstream.replay_body_limit`), and its ceiling.
    static let replayBody = 64 * 1024
    static let replayBodyCeiling = 16 << 20

    // MARK: Token endpoint, discovery and admin

    static let tokenResponse = 256 * 1024
    static let discoveryDocument = 512 * 1024
    /// Request bodies on the admin listener (it takes none that matter).
    static let adminRequestBody = 1 << 20

    // MARK: Files

    /// A config file is a few kilobytes; this only stops a wrong path from reading a disk image.
    static let configFile = 1 << 20
    /// Client secret files hold one line; anything bigger is the wrong file.
    static let secretFile = 64 << 10
    /// One Redis reply to the shared token cache: a sealed token is a few KiB.
    static let redisReply = 256 << 10
    /// PEM keys and certificate chains are a few KiB.
    static let pemFile = 1 << 20
    /// A federated assertion (a projected service-account token) is one JWT of a few KiB.
    static let assertionFile = 64 << 10
    /// A CA bundle may hold a whole trust store.
    static let caFile = 16 << 20

    // MARK: Logs

    /// Log lines waiting for a slow collector before new ones are dropped (and counted).
    static let pendingLogBytes = 4 << 20
}
