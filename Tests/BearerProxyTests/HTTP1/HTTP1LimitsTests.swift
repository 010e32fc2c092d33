import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("HTTP1Limits")
struct HTTP1LimitsTests {
    @Test("defaults are the documented caps")
    func defaults() {
        let limits = HTTP1Limits.default
        #expect(limits.maxRequestLineLength == 8192)
        #expect(limits.maxHeadSize == 32768)
        #expect(limits.maxFieldCount == 100)
        #expect(limits.maxChunkSizeDigits == 16)
        #expect(limits.maxChunkExtensionLength == 1024)
        #expect(limits.maxTrailerSize == 8192)
        #expect(limits.maxLeadingEmptyLines == 4)
    }
}
}
