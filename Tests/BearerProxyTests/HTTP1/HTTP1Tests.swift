import Testing

/// Namespace for every HTTP/1.1-layer suite, so `swift test --filter HTTP1` selects exactly them.
@Suite("HTTP1")
enum HTTP1Tests {}
