import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("HTTP1Error")
struct HTTP1ErrorTests {
    static let all: [HTTP1Error] = [
        .headTooLarge, .requestLineTooLong, .tooManyFields, .invalidRequestLine, .invalidStatusLine,
        .invalidTarget, .unsupportedVersion, .invalidFieldName, .invalidFieldValue, .whitespaceBeforeColon,
        .obsoleteLineFolding, .bareLineFeed, .bareCarriageReturn, .invalidHost, .invalidContentLength,
        .conflictingContentLength, .contentLengthWithTransferEncoding, .unsupportedTransferEncoding,
        .transferEncodingInHTTP10, .invalidChunkSize, .invalidChunkExtension, .chunkExtensionTooLong,
        .invalidChunkTerminator, .trailerTooLarge, .invalidTrailer, .truncatedBody, .http2Preface,
    ]

    @Test("every error has a distinct short detail")
    func details() {
        let details = Self.all.map(\.detail)
        #expect(Set(details).count == details.count)
        #expect(details.allSatisfy { !$0.isEmpty && $0.count < 60 })
        #expect(HTTP1Error.contentLengthWithTransferEncoding.detail == "both Content-Length and Transfer-Encoding")
    }
}
}
