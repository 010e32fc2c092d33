import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("HTTP1Limits")
struct HTTP1LimitsTests {
    @Test("defaults are the documented caps, the same as the limits: section's")
    func defaults() {
        let limits = HTTP1Limits.default
        #expect(limits.maxRequestLineLength == 8192)
        #expect(limits.maxHeadSize == 65536)
        #expect(LimitsConfig.defaults.maxHeaderBytes == limits.maxHeadSize)
        #expect(LimitsConfig.defaults.maxRequestLine == limits.maxRequestLineLength)
        #expect(LimitsConfig.defaults.maxHeaderCount == limits.maxFieldCount)
        #expect(limits.maxFieldCount == 100)
        #expect(limits.maxChunkSizeDigits == 16)
        #expect(limits.maxChunkExtensionLength == 1024)
        #expect(limits.maxTrailerSize == 8192)
        #expect(limits.maxLeadingEmptyLines == 4)
        let upstream = HTTP1Limits.upstreamDefault
        #expect(upstream.maxHeadSize == 65536 && upstream.maxFieldCount == 200 && upstream.maxRequestLineLength == 8192)
    }
}
}
