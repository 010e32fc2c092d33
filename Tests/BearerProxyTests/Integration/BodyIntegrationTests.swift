@testable import BearerProxy
import Testing

extension Integration {
    /// Request and response bodies cross the proxy with their payload bytes intact.
    @Suite("Bodies: payload bytes survive the proxy in both directions")
    struct Bodies {
        /// Deterministic, non-repeating-looking bytes (xorshift), so a shifted or dropped block shows.
        static func pattern(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
            var state = seed
            var bytes = [UInt8](repeating: 0, count: count)
            for index in bytes.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                bytes[index] = UInt8(truncatingIfNeeded: state)
            }
            return bytes
        }

        // RFC 9112 §7.1: chunk extensions and trailers are framing; only the payload must arrive.
        @Test("chunked request body with an extension and a trailer arrives upstream as the same payload")
        func chunkedRequestBody() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let request = "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                + "5;name=value\r\nhello\r\n"
                + "7\r\n, world\r\n"
                + "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                + "0\r\nX-Checksum: 1234\r\n\r\n"
            let client = try harness.client()
            let response = try client.exchange(request)

            #expect(response.status == 200)
            let received = try #require(harness.upstream.requests.first)
            #expect(received.bodyText == "hello, worldabcdefghijklmnopqrstuvwxyz")
            #expect(received.fieldLines(named: "transfer-encoding") == ["Transfer-Encoding: chunked"])
            #expect(received.fieldLines(named: "content-length") == [])
        }

        @Test("Content-Length request body arrives upstream byte for byte with the same length")
        func contentLengthRequestBody() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()

            let body = (0..<1000).map { UInt8($0 % 256) }
            let client = try harness.client()
            try client.send(Array("PUT /blob HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
            let response = try client.readResponse()

            #expect(response.status == 200)
            let received = try #require(harness.upstream.requests.first)
            #expect(received.body == body)
            #expect(received.fieldLines(named: "content-length") == ["Content-Length: 1000"])
        }

        // upstream.response_timeout is about an upstream that does not answer, not about a client
        // that takes longer to upload than the timeout while still sending.
        @Test("an upload that takes longer than upstream.response_timeout, while still sending, completes")
        func slowUploadOutlastsResponseTimeout() async throws {
            var options = ProxyHarness.Options()
            options.upstreamResponseTimeout = "1s"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            try client.send("PUT /slow-upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n")
            for part in ["ab", "cd", "ef", "gh", "ij"] {
                try await Task.sleep(for: .milliseconds(300))  // 1.5 s in all
                try client.send(part)
            }
            let response = try client.readResponse()

            #expect(response.status == 200)
            #expect(harness.upstream.requests.first?.body == Array("abcdefghij".utf8))
        }

        // While the client is the one being waited for, its body_read governs, not the upstream's timeout.
        @Test("a client pausing mid-body longer than upstream.response_timeout but within body_read gets its answer")
        func clientPauseWithinBodyRead() async throws {
            var options = ProxyHarness.Options()
            options.upstreamResponseTimeout = "300ms"
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()

            let client = try harness.client()
            try client.send("POST /paused HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n\r\nab")
            try await Task.sleep(for: .milliseconds(1200))
            try client.send("cd")
            let response = try client.readResponse()

            #expect(response.status == 200)
            #expect(harness.upstream.requests.first?.body == Array("abcd".utf8))
        }

        @Test("a 3 MiB upload streams through to the upstream intact")
        func largeUpload() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in .response(.text(200, "got \(request.body.count)")) }

            let body = Self.pattern(count: 3 << 20)
            let client = try harness.client()
            try client.send(Array("POST /big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
            let response = try client.readResponse()

            #expect(response.status == 200)
            #expect(response.bodyText == "got \(body.count)")
            let received = try #require(harness.upstream.requests.first)
            #expect(received.body.count == body.count)
            #expect(received.body == body)
        }

        @Test("a 3 MiB chunked upload in uneven chunks arrives upstream as the same payload")
        func largeChunkedUpload() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { request in .response(.text(200, "got \(request.body.count)")) }

            let body = Self.pattern(count: 3 << 20, seed: 7)
            var wire = Array("POST /big-chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            var offset = 0
            var size = 1
            while offset < body.count {
                let end = min(body.count, offset + size)
                wire += Array("\(String(end - offset, radix: 16))\r\n".utf8) + body[offset..<end] + Array("\r\n".utf8)
                offset = end
                size = size * 3 + 7  // 1, 10, 37, ... up to chunks of a few hundred KiB
            }
            wire += Array("0\r\n\r\n".utf8)
            let client = try harness.client()
            try client.send(wire)
            let response = try client.readResponse()

            #expect(response.status == 200)
            #expect(response.bodyText == "got \(body.count)")
            let received = try #require(harness.upstream.requests.first)
            #expect(received.body == body)
        }

        @Test("a 3 MiB response body comes back to the client intact")
        func largeDownload() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            let body = Self.pattern(count: 3 << 20, seed: 42)
            harness.upstream.respond { _ in .response(LocalResponse(status: 200, body: body)) }

            let client = try harness.client()
            let response = try client.exchange(harness.get("/download"))

            #expect(response.status == 200)
            #expect(response.value(of: "content-length") == "\(body.count)")
            #expect(response.body.count == body.count)
            #expect(response.body == body)
        }

        @Test("a chunked upstream response reaches an HTTP/1.1 client with the same payload")
        func chunkedResponseBody() async throws {
            let harness = try ProxyHarness()
            defer { harness.stop() }
            try await harness.waitForToken()
            harness.upstream.respond { _ in
                .raw(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Up: 1\r\n\r\n4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n".utf8))
            }

            let client = try harness.client()
            let response = try client.exchange(harness.get("/chunked"))

            #expect(response.status == 200)
            #expect(response.bodyText == "Wikipedia in \r\n\r\nchunks.")
            #expect(response.value(of: "x-up") == "1")
            // The connection stays usable after the re-chunked body.
            let second = try client.exchange(harness.get("/after"))
            #expect(second.status == 200)
        }
    }
}

extension LocalRequest {
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}
