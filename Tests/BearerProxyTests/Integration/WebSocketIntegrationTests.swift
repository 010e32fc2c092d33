@testable import BearerProxy
import Foundation
import Testing

extension Integration {
    /// RFC 6455 through the proxy: the handshake carries the route's token, the 101 opens a tunnel.
    @Suite("WebSocket: the handshake with the token, then a tunnel")
    struct WebSocketIntegrationTests {
        static let key = "dGhlIHNhbXBsZSBub25jZQ=="
        /// RFC 6455 §1.3: the accept value for `key`.
        static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        static let switching = Array("""
            HTTP/1.1 101 Switching Protocols\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Accept: \(accept)\r
            Sec-WebSocket-Protocol: chat\r
            \r

            """.utf8)

        static func handshake(_ harness: ProxyHarness, path: String = "/ws", authorization: String = "") -> String {
            harness.get(path, extraFields: "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: \(key)\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\(authorization)")
        }

        /// A masked client text frame (RFC 6455 §5.2) with `payload`; the echo server returns it as is.
        static func frame(_ payload: [UInt8]) -> [UInt8] {
            var frame: [UInt8] = [0x81]
            if payload.count < 126 {
                frame.append(0x80 | UInt8(payload.count))
            } else if payload.count <= 0xFFFF {
                frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
            } else {
                frame.append(0x80 | 127)
                for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xFF)) }
            }
            let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
            frame += mask
            frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
            return frame
        }

        @Test("an echo through the proxy: the upstream sees the token on the handshake, and frames flow both ways")
        func echo() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in .rawThenEcho(Self.switching) }

            let client = try harness.client()
            try client.send(Self.handshake(harness, authorization: "Authorization: Bearer client-supplied\r\n"))
            let response = try client.readResponse()
            #expect(response.status == 101)
            #expect(response.value(of: "upgrade")?.lowercased() == "websocket")
            #expect(response.value(of: "connection")?.lowercased() == "upgrade")
            #expect(response.value(of: "sec-websocket-accept") == Self.accept)
            #expect(response.value(of: "sec-websocket-protocol") == "chat")

            let received = try #require(harness.upstream.requests.first)
            #expect(received.values(of: "authorization") == ["Bearer \(harness.tokenEndpoint.issuedTokens[0])"])
            #expect(received.fieldLines(named: "upgrade") == ["Upgrade: websocket"])
            #expect(received.fieldLines(named: "connection") == ["Connection: Upgrade"])
            #expect(received.values(of: "sec-websocket-key") == [Self.key])
            #expect(received.values(of: "sec-websocket-version") == ["13"])

            let hello = Self.frame(Array("hello".utf8))
            try client.send(hello)
            #expect(try client.readBytes(hello.count) == hello)
            // 3 MB, in pieces each larger than the proxy's buffers: back-pressure, not loss.
            let big = Self.frame((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            var echoed: [UInt8] = []
            for start in stride(from: 0, to: big.count, by: 512 * 1024) {
                let piece = Array(big[start..<min(start + 512 * 1024, big.count)])
                try client.send(piece)
                echoed += try client.readBytes(piece.count)
            }
            #expect(echoed == big)

            client.shutdownWrite()
            #expect(client.waitForClose())
            try await poll("the tunnel's access line to be counted") {
                (try? harness.admin("/metrics").bodyText.contains(#"bearer_proxy_requests_total{route="0",method="GET",status_class="1xx"} 1"#)) == true
            }
        }

        @Test("an upstream that declines the upgrade answers as usual, and the connection stays HTTP")
        func declined() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in
                request.target == "/ws" ? .response(.text(426, "upgrade required elsewhere")) : .response(.text(200, "target=\(request.target)"))
            }
            let client = try harness.client()
            try client.send(Self.handshake(harness))
            let refused = try client.readResponse()
            #expect(refused.status == 426 && refused.bodyText == "upgrade required elsewhere")
            #expect(try client.exchange(harness.get("/next")).bodyText == "target=/next")
        }

        @Test("a handshake that is not a GET, or carries a body, is refused; nothing reaches the upstream")
        func malformedHandshakes() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let post = try harness.client().exchange("POST /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n")
            #expect(post.status == 501)
            let withBody = try harness.client().exchange("GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc")
            #expect(withBody.status == 400)
            #expect(harness.upstream.requests.isEmpty)
        }

        @Test("a web page's handshake or request (foreign Origin) is refused with 403; a local page's is not")
        func foreignOrigin() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in .rawThenEcho(Self.switching) }
            for origin in ["https://evil.example", "null", "http://evil.example:\(harness.proxyPort)"] {
                let client = try harness.client()
                try client.send(Self.handshake(harness, authorization: "Origin: \(origin)\r\n"))
                let refused = try client.readResponse()
                #expect(refused.status == 403, "\(origin)")
                #expect(refused.jsonString("error") == "foreign_origin")
            }
            let simple = try harness.client().exchange(harness.get("/x", extraFields: "Origin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\n"))
            #expect(simple.status == 403)
            #expect(harness.upstream.requests.isEmpty)

            let local = try harness.client()
            try local.send(Self.handshake(harness, authorization: "Origin: http://localhost:3000\r\n"))
            #expect(try local.readResponse().status == 101)
        }

        @Test("a client that half-closes before the 101 gets it, then the tunnel closes")
        func halfCloseBeforeSwitch() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in .rawThenEcho(Self.switching) }
            harness.upstream.delayAnswers(milliseconds: 300)
            let client = try harness.client()
            try client.send(Self.handshake(harness))
            client.shutdownWrite()
            #expect(try client.readResponse().status == 101)
            #expect(client.waitForClose())
        }

        @Test("a 101 that switches to something other than websocket is a 502")
        func wrongSwitch() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in .raw(Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n".utf8)) }
            let client = try harness.client()
            try client.send(Self.handshake(harness))
            #expect(try client.readResponse().status == 502)
        }

        @Test("a silent tunnel closes after timeouts.tunnel_idle; traffic keeps it open, past the token's expiry")
        func idleTimeoutAndTokenExpiry() async throws {
            var options = ProxyHarness.Options()
            options.extraYAML = "timeouts:\n  tunnel_idle: 1500ms\n"
            options.tokenBehaviour = .issue(expiresIn: 2)
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in .rawThenEcho(Self.switching) }

            let client = try harness.client()
            try client.send(Self.handshake(harness))
            #expect(try client.readResponse().status == 101)
            let ping = Self.frame(Array("ping".utf8))
            for _ in 0..<6 {  // 3 s of traffic: longer than the idle timeout and the token's lifetime
                try await Task.sleep(for: .milliseconds(500))
                try client.send(ping)
                #expect(try client.readBytes(ping.count) == ping)
            }
            let silentSince = ContinuousClock.now
            #expect(client.waitForClose())
            let silence = ContinuousClock.now - silentSince
            #expect(silence > .milliseconds(1200) && silence < .seconds(4), "\(silence)")
        }
    }
}
