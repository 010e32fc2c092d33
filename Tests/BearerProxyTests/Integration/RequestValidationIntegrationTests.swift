@testable import BearerProxy
import Testing

extension Integration {
    /// Requests the proxy must refuse before anything goes upstream.
    @Suite("Request validation: malformed requests never reach the upstream")
    struct RequestValidation {
        struct Malformed: CustomTestStringConvertible, Sendable {
            var name: String
            var bytes: String
            var testDescription: String { name }
        }

        static let malformed: [Malformed] = [
            // RFC 9112 §6.1: both framings is a smuggling vector; a proxy must not forward it.
            Malformed(name: "Content-Length and Transfer-Encoding",
                      bytes: "POST /smuggle HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            // RFC 9112 §5.2: obs-fold in a request is rejected with 400.
            Malformed(name: "obs-fold",
                      bytes: "GET /fold HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Folded: a\r\n b\r\n\r\n"),
            // RFC 9112 §2.2: a bare LF as line terminator (we choose to reject, not to guess).
            Malformed(name: "bare LF line endings",
                      bytes: "GET /lf HTTP/1.1\nHost: 127.0.0.1\n\n"),
            Malformed(name: "differing duplicate Content-Length",
                      bytes: "POST /dup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        ]

        @Test("a malformed request gets 400 with Connection: close, the connection closes, and the upstream receives nothing",
              arguments: malformed)
        func malformedRequestIsRejected(_ request: Malformed) async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange(request.bytes)

            #expect(response.status == 400)
            #expect(response.jsonString("error") == "bad_request")
            #expect(response.value(of: "connection")?.lowercased() == "close")
            #expect(client.waitForClose())
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }
    }
}
