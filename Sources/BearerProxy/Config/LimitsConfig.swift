/// Caps on what a local caller may send (`limits:` section). All in bytes or items.
public struct LimitsConfig: Sendable, Equatable {
    public static let defaults = LimitsConfig(maxRequestLine: 8192, maxHeaderBytes: 32768, maxHeaderCount: 100)

    /// Longest request line, in bytes.
    public var maxRequestLine: Int
    /// Largest request head (request line and all header fields), in bytes.
    public var maxHeaderBytes: Int
    /// Most header fields in one request.
    public var maxHeaderCount: Int

    public init(maxRequestLine: Int, maxHeaderBytes: Int, maxHeaderCount: Int) {
        self.maxRequestLine = maxRequestLine
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }
}
