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
            // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request with no Host or with more than one.
            Malformed(name: "HTTP/1.1 without Host",
                      bytes: "GET /no-host HTTP/1.1\r\nAccept: */*\r\n\r\n"),
            Malformed(name: "two Host fields",
                      bytes: "GET /two-hosts HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: localhost\r\n\r\n"),
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
    
        // RFC 9110 §7.8: WebSocket is tunnelled (WebSocketIntegrationTests); any other protocol is not.
        @Test("an Upgrade to another protocol gets 501 and nothing reaches the upstream")
        func otherUpgradeRejected() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let response = try harness.client().exchange(harness.get("/chat", extraFields: "Connection: Upgrade\r\nUpgrade: IRC/6.9\r\n"))

            #expect(response.status == 501)
            #expect(response.jsonString("error") == "upgrade_not_supported")
            #expect(harness.upstream.requests.map(\.requestLine) == [])
        }

        @Test("an h2c Upgrade is ignored: the request goes on as HTTP/1.1 without Upgrade or HTTP2-Settings")
        func h2cUpgradeIgnored() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let response = try harness.client().exchange(harness.get("/h2c", extraFields:
                "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"))

            #expect(response.status == 200)
            let received = try #require(harness.upstream.requests.first)
            #expect(received.fieldLines(named: "upgrade") == [])
            #expect(received.fieldLines(named: "http2-settings") == [])
            #expect(received.fieldLines(named: "connection") == [])
        }
    }
}
