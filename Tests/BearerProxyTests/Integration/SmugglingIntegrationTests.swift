@testable import BearerProxy
import Testing

extension Integration {
    /// Request smuggling and header injection, sent as raw bytes to the running proxy.
    /// Each vector must be refused, the connection closed, and nothing forwarded: a request the
    /// proxy cannot frame with certainty must not reach the upstream carrying the bearer token.
    @Suite("Smuggling: ambiguous framing is refused and nothing after it is forwarded")
    struct Smuggling {
        struct Vector: CustomTestStringConvertible, Sendable {
            var name: String
            var head: String
            var status: Int
            var testDescription: String { name }
        }

        static let host = "Host: 127.0.0.1\r\n"

        /// RFC 9112 §6.1, §6.3, §7.1 and the classic CL.TE / TE.CL / TE.TE desync vectors.
        static let vectors: [Vector] = [
            Vector(name: "CL.TE", head: "POST /a HTTP/1.1\r\n\(host)Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", status: 400),
            Vector(name: "TE.CL", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", status: 400),
            Vector(name: "TE.TE: unknown coding", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: xchunked\r\n\r\n", status: 501),
            Vector(name: "TE.TE: chunked then identity", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: chunked, identity\r\n\r\n", status: 501),
            Vector(name: "TE.TE: second TE field", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nTransfer-encoding: cow\r\n\r\n", status: 501),
            Vector(name: "TE.TE: chunked twice", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", status: 501),
            Vector(name: "TE.TE: space before colon", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", status: 400),
            Vector(name: "TE.TE: vertical tab in value", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: \u{0B}chunked\r\n\r\n", status: 400),
            Vector(name: "TE.TE: folded onto the next line", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding:\r\n chunked\r\n\r\n", status: 400),
            Vector(name: "TE on HTTP/1.0", head: "POST /a HTTP/1.0\r\n\(host)Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400),
            Vector(name: "CL list with differing values", head: "POST /a HTTP/1.1\r\n\(host)Content-Length: 5, 6\r\n\r\nhello!", status: 400),
            Vector(name: "CL with plus sign", head: "POST /a HTTP/1.1\r\n\(host)Content-Length: +5\r\n\r\nhello", status: 400),
            Vector(name: "CL in hex", head: "POST /a HTTP/1.1\r\n\(host)Content-Length: 0x5\r\n\r\nhello", status: 400),
            Vector(name: "CL overflowing 64 bits", head: "POST /a HTTP/1.1\r\n\(host)Content-Length: 18446744073709551617\r\n\r\n", status: 400),
            Vector(name: "CL with inner space", head: "POST /a HTTP/1.1\r\n\(host)Content-Length: 1 0\r\n\r\n0123456789", status: 400),
            Vector(name: "chunk size wrong for its data", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", status: 400),
            Vector(name: "negative chunk size", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", status: 400),
            Vector(name: "chunk size with 0x prefix", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", status: 400),
            Vector(name: "chunk size overflowing", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n", status: 400),
            Vector(name: "chunk data ended by bare LF", head: "POST /a HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", status: 400),
            Vector(name: "NUL in a field value", head: "GET /a HTTP/1.1\r\n\(host)X-Inject: a\u{00}b\r\n\r\n", status: 400),
            Vector(name: "bare CR in a field value", head: "GET /a HTTP/1.1\r\n\(host)X-Inject: a\rAuthorization: Bearer stolen\r\n\r\n", status: 400),
            Vector(name: "space in the request target", head: "GET /a b HTTP/1.1\r\n\(host)\r\n", status: 400),
            Vector(name: "two spaces in the request line", head: "GET  /a HTTP/1.1\r\n\(host)\r\n", status: 400),
            Vector(name: "HTTP/1.2", head: "GET /a HTTP/1.2\r\n\(host)\r\n", status: 505),
        ]

        @Test("a smuggling vector is refused with the documented status, the connection closes, and the upstream receives nothing",
              arguments: vectors)
        func vectorIsRefused(_ vector: Vector) async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            // A valid request pipelined behind the attack must not be forwarded either.
            let client = try harness.client()
            try client.send(vector.head + "GET /after HTTP/1.1\r\n\(Self.host)\r\n")
            let response = try client.readResponse()

            #expect(response.status == vector.status)
            #expect(response.value(of: "connection")?.lowercased() == "close")
            #expect(client.waitForClose())
            #expect(harness.upstream.requests.isEmpty)
        }

        @Test("an accepted request is forwarded with exactly the framing the proxy parsed, so the upstream cannot read a second request into it")
        func forwardedFramingIsTheParsedOne() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            // Identical duplicate lengths are accepted (RFC 9112 §6.3) and sent as one.
            let response = try harness.client().exchange(
                "POST /dup HTTP/1.1\r\n\(Self.host)Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello")

            #expect(response.status == 200)
            let received = try #require(harness.upstream.requests.first)
            #expect(received.values(of: "content-length") == ["5"])
            #expect(received.body == Array("hello".utf8))
            #expect(harness.upstream.requests.count == 1)
        }
    }
}
