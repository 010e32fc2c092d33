/// Caps on what local callers may send (`limits:` section). All in bytes or items.
public struct LimitsConfig: Sendable, Equatable {
    public static let defaults = LimitsConfig(
        maxRequestLine: SizeLimits.requestLine, maxHeaderBytes: SizeLimits.requestHead, maxHeaderCount: SizeLimits.requestFieldCount)
    public static let defaultMaxConnections = 4096

    /// Longest request line, in bytes (longer: 414).
    public var maxRequestLine: Int
    /// Largest request head (request line and all header fields), in bytes (larger: 431).
    public var maxHeaderBytes: Int
    /// Most header fields in one request (more: 431).
    public var maxHeaderCount: Int
    /// Largest request body, in bytes (larger: 413); nil means no limit.
    public var maxBodySize: UInt64?
    /// Most client connections open at once; beyond it new connections get 503 and are closed.
    public var maxConnections: Int

    public init(maxRequestLine: Int, maxHeaderBytes: Int, maxHeaderCount: Int,
                maxBodySize: UInt64? = nil, maxConnections: Int = LimitsConfig.defaultMaxConnections) {
        self.maxRequestLine = maxRequestLine
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodySize = maxBodySize
        self.maxConnections = maxConnections
    }
}
