@testable import BearerProxy
import Foundation
import Logging
import Testing
import BearerSync

extension Integration {
    @Suite("Access log and redaction through the real log formats")
    struct AccessLog {
        /// Collects what a `LogWriter` would have written to stderr.
        final class Output: Sendable {
            private let bytes = Locked<[UInt8]>([])
            var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
            func append(_ batch: [UInt8]) { bytes.withLock { $0 += batch } }
        }

        static func logger(format: LogFormat, output: Output) -> (Logger, LogWriter) {
            let writer = LogWriter { output.append($0) }
            var logger = Logger(label: "bearer-proxy") { label in
                switch format {
                case .json: var handler = JSONLogHandler(label: label, writer: writer); handler.logLevel = .trace; return handler
                case .text: var handler = TextLogHandler(label: label, writer: writer); handler.logLevel = .trace; return handler
                }
            }
            logger.logLevel = .trace
            return (logger, writer)
        }

        static let clientAuthorization = "Bearer client-own-TOKEN-7f3e1c"
        static let cookie = "session=COOKIE-VALUE-c0ffee"
        static let querySecret = "api_key=QUERY-SECRET-91ab"

        @Test("one access line per request with method, path without query, status, bytes, durations and reuse", arguments: [LogFormat.json, .text])
        func accessLine(format: LogFormat) async throws {
            let output = Output()
            var options = ProxyHarness.Options()
            let (logger, writer) = Self.logger(format: format, output: output)
            options.logger = logger
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            try await harness.waitForToken()
            let client = try harness.client()
            #expect(try client.exchange(harness.get("/items/7?\(Self.querySecret)")).status == 200)
            #expect(try client.exchange(harness.get("/items/8")).status == 200)
            let marker = format == .json ? #""log":"access""# : "log=access"
            // The line is written after the response left, so the client can be a little ahead of it.
            try await poll("two access lines") { writer.flush(); return output.text.components(separatedBy: marker).count == 3 }
            let lines = output.text.split(separator: "\n").filter { $0.contains(marker) }
            #expect(lines.count == 2)
            let first = String(lines.first ?? "")
            switch format {
            case .json:
                #expect(first.contains(#""msg":"request""#))
                #expect(first.contains(#""method":"GET""#))
                #expect(first.contains(#""path":"/items/7""#))
                #expect(first.contains(#""status":"200""#))
                #expect(first.contains(#""upstream_reused":"false""#))
                #expect(lines.last?.contains(#""upstream_reused":"true""#) == true)
                for key in ["bytes_in", "bytes_out", "duration_ms", "upstream_ms", "client", "ts"] { #expect(first.contains("\"\(key)\":")) }
            case .text:
                #expect(first.contains("request"))
                #expect(first.contains("method=GET"))
                #expect(first.contains("path=/items/7 "))
                #expect(first.contains("status=200"))
                #expect(first.contains("upstream_ms="))
            }
            #expect(!output.text.contains("QUERY-SECRET"))
        }

        @Test("no line at trace level, in either format, holds the secret, a token, or an Authorization or Cookie value", arguments: [LogFormat.json, .text])
        func redaction(format: LogFormat) async throws {
            let output = Output()
            let (logger, writer) = Self.logger(format: format, output: output)
            var options = ProxyHarness.Options()
            options.logger = logger
            let working = try ProxyHarness(options)
            defer { working.stop() }
            try await working.waitForToken()
            let client = try working.client()
            let fields = "Authorization: \(Self.clientAuthorization)\r\nCookie: \(Self.cookie)\r\n"
            _ = try client.exchange(working.get("/a?\(Self.querySecret)", extraFields: fields))
            working.upstream.respond { _ in .response(LocalResponse(status: 401, headerFields: [("Set-Cookie", Self.cookie)], body: Array("denied".utf8))) }
            _ = try client.exchange(working.get("/b", extraFields: fields))
            _ = try working.client().exchange("GET /bad HTTP/1.1\r\nHost: x\r\n\(fields)Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")

            var rejected = options
            rejected.tokenBehaviour = .rejectClient
            let failing = try ProxyHarness(rejected)
            defer { failing.stop() }
            _ = try failing.client().exchange(failing.get("/no-token", extraFields: fields))
            try await poll("the failed fetch to be logged") { writer.flush(); return output.text.contains("token fetch failed") }
            writer.flush()

            let log = output.text
            #expect(log.contains("token fetched"))
            #expect(log.split(separator: "\n").count > 5)
            let forbidden = [ProxyHarness.clientSecret, Data("\(ProxyHarness.clientID):\(ProxyHarness.clientSecret)".utf8).base64EncodedString(),
                             "client-own-TOKEN-7f3e1c", "COOKIE-VALUE-c0ffee", "QUERY-SECRET-91ab"]
                + working.tokenEndpoint.issuedTokens.map { String($0.split(separator: ".").last!) }
            #expect(working.tokenEndpoint.issuedTokens.count >= 1)
            for secret in forbidden {
                #expect(!log.contains(secret), "log contains \(secret)")
            }
        }
    }
}
