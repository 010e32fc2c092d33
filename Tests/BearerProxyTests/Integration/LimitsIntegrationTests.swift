@testable import BearerProxy
import Foundation
import Logging
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    /// The configurable caps: body size, connection count, and upstream connect/handshake time.
    @Suite("Limits: body size, connection count, upstream handshake timeout")
    struct Limits {
        @Test("a Content-Length over limits.max_body_size gets 413 and nothing reaches the upstream")
        func declaredBodyOverLimit() async throws {
            let harness = try ProxyHarness(.init(extraYAML: "limits:\n  max_body_size: 1000\n"))
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            let response = try client.exchange(
                "POST /big HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\nContent-Length: 1001\r\n\r\n")

            #expect(response.status == 413)
            #expect(response.jsonString("error") == "body_too_large")
            #expect(client.waitForClose())
            #expect(harness.upstream.requests.isEmpty)
        }

        @Test("a body at exactly limits.max_body_size is forwarded whole")
        func bodyAtLimit() async throws {
            let harness = try ProxyHarness(.init(extraYAML: "limits:\n  max_body_size: 1000\n"))
            defer { harness.stop() }
            try await harness.waitForToken()

            let body = String(repeating: "b", count: 1000)
            let response = try harness.client().exchange(
                "POST /ok HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\nContent-Length: 1000\r\n\r\n" + body)

            #expect(response.status == 200)
            #expect(harness.upstream.requests.first?.body == Array(body.utf8))
        }

        @Test("a chunked body growing past limits.max_body_size gets 413 and the upstream never sees a complete request")
        func chunkedBodyOverLimit() async throws {
            let harness = try ProxyHarness(.init(extraYAML: "limits:\n  max_body_size: 1000\n"))
            defer { harness.stop() }
            try await harness.waitForToken()

            let chunk = String(repeating: "c", count: 600)
            let client = try harness.client()
            let response = try client.exchange(
                "POST /grow HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n")

            #expect(response.status == 413)
            #expect(client.waitForClose())
            // The upstream may have seen the start of the request, never its end.
            try await Task.sleep(for: .milliseconds(100))
            #expect(harness.upstream.requests.isEmpty)
        }

        @Test("beyond limits.max_connections a new connection gets 503 while open ones keep working")
        func connectionLimit() async throws {
            let harness = try ProxyHarness(.init(extraYAML: "limits:\n  max_connections: 2\n"))
            defer { harness.stop() }
            try await harness.waitForToken()

            let first = try harness.client()
            let second = try harness.client()
            #expect(try first.exchange(harness.get("/one")).status == 200)
            #expect(try second.exchange(harness.get("/two")).status == 200)

            let third = try harness.client()
            let refused = try third.readResponse()
            #expect(refused.status == 503)
            #expect(refused.jsonString("error") == "too_many_connections")
            #expect(third.waitForClose())

            // The open connections are unaffected.
            #expect(try first.exchange(harness.get("/again")).status == 200)
        }

        @Test("an upstream that accepts TCP but never completes the TLS handshake gets 504 within the connect timeout")
        func handshakeTimeout() async throws {
            // A listening socket that never accepts: the kernel completes TCP, nobody answers TLS.
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                    bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
                }
            }
            let silentPort = UInt16(bigEndian: address.sin_port)

            let harness = try ProxyHarness(.init(extraYAML: ""))
            defer { harness.stop() }
            try await harness.waitForToken()
            // A second proxy, same token endpoint, whose upstream is the silent port.
            let yaml = """
                listen: 127.0.0.1:0
                upstream:
                  url: https://localhost:\(silentPort)
                  ca_file: \(harness.directory)/ca.pem
                  connect_timeout: 500ms
                token:
                  url: https://localhost:\(harness.tokenEndpoint.port)/oauth2/token
                  client_id: \(ProxyHarness.clientID)
                  client_secret: \(ProxyHarness.clientSecret)
                  ca_file: \(harness.directory)/ca.pem
                admin:
                  enabled: false

                """
            let config = try ProxyConfig.parse(yaml: yaml, sourceName: "itest.conf", baseDirectory: harness.directory, environment: [:])
            let proxy = try ProxyServer(config: config, logger: .init(label: "itest", factory: { _ in SwiftLogNoOpLogHandler() }))
            defer { proxy.shutdown(drainTimeout: .zero) {} }

            let started = ContinuousClock.now
            let response = try RawHTTPClient(port: proxy.listenAddress.port).exchange(
                "GET /slow HTTP/1.1\r\nHost: 127.0.0.1:\(proxy.listenAddress.port)\r\n\r\n")
            let elapsed = ContinuousClock.now - started

            #expect(response.status == 504)
            #expect(response.jsonString("error") == "upstream_timeout")
            #expect(elapsed >= .milliseconds(400) && elapsed < .seconds(3))
        }
    }
}
