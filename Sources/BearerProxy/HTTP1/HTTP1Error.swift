/// Why a message was rejected by the HTTP/1.1 layer. Deliberately small: the proxy maps these
/// to statuses in one place. Every case means "the framing cannot be trusted"; never reuse the connection.
enum HTTP1Error: Error, Equatable, Sendable {
    case headTooLarge, requestLineTooLong, tooManyFields
    case invalidRequestLine, invalidStatusLine, invalidTarget, dotSegmentInPath, unsupportedVersion
    case invalidFieldName, invalidFieldValue, whitespaceBeforeColon, obsoleteLineFolding, bareLineFeed
    case bareCarriageReturn
    case invalidHost
    case invalidContentLength, conflictingContentLength, contentLengthWithTransferEncoding
    case unsupportedTransferEncoding, transferEncodingInHTTP10
    case invalidChunkSize, invalidChunkExtension, chunkExtensionTooLong, invalidChunkTerminator
    case trailerTooLarge, invalidTrailer
    case truncatedBody
    case http2Preface
    /// A WebSocket handshake that carries a body (RFC 6455 §4.1: it is a GET).
    case bodyOnUpgrade

    /// Short human text for logs and error bodies.
    var detail: String {
        switch self {
        case .headTooLarge: "message head too large"
        case .requestLineTooLong: "request line too long"
        case .tooManyFields: "too many header fields"
        case .invalidRequestLine: "malformed request line"
        case .invalidStatusLine: "malformed status line"
        case .invalidTarget: "invalid request target"
        case .dotSegmentInPath: "\".\" or \"..\" segment in the request path"
        case .unsupportedVersion: "unsupported HTTP version"
        case .invalidFieldName: "invalid header field name"
        case .invalidFieldValue: "invalid byte in header field value"
        case .whitespaceBeforeColon: "whitespace between header field name and colon"
        case .obsoleteLineFolding: "obsolete line folding"
        case .bareLineFeed: "LF without preceding CR"
        case .bareCarriageReturn: "CR not followed by LF"
        case .invalidHost: "missing or repeated Host"
        case .bodyOnUpgrade: "a WebSocket handshake must not carry a body"
        case .invalidContentLength: "invalid Content-Length"
        case .conflictingContentLength: "conflicting Content-Length values"
        case .contentLengthWithTransferEncoding: "both Content-Length and Transfer-Encoding"
        case .unsupportedTransferEncoding: "Transfer-Encoding other than a single final chunked"
        case .transferEncodingInHTTP10: "Transfer-Encoding in an HTTP/1.0 message"
        case .invalidChunkSize: "invalid chunk size"
        case .invalidChunkExtension: "malformed chunk extension"
        case .chunkExtensionTooLong: "chunk extension too long"
        case .invalidChunkTerminator: "missing CRLF in chunked body"
        case .trailerTooLarge: "trailer section too large"
        case .invalidTrailer: "malformed trailer field"
        case .truncatedBody: "connection closed before end of body"
        case .http2Preface: "HTTP/2 connection preface on an HTTP/1.1 port"
        }
    }
}
