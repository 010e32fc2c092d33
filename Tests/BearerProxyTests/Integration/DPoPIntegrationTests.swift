@testable import BearerProxy
import BearerTLS
import Foundation
import Testing

extension Integration {
    /// token.dpop (RFC 9449): the real proxy against a token endpoint and an upstream that each
    /// check every proof field by field with the public key of the proxy's `dpop.key_file`.
    @Suite("DPoP: sender-constrained tokens")
    struct DPoP {
        static func harness(endpointNonce: String? = nil, log: CapturingLogHandler.Buffer? = nil) throws -> (ProxyHarness, DPoPChecker) {
            var options = ProxyHarness.Options()
            options.dpop = true
            if let log { options.logger = CapturingLogHandler.logger(into: log) }
            let harness = try ProxyHarness(options)
            if let endpointNonce { harness.tokenDPoP?.nonce.withLock { $0 = endpointNonce } }
            let upstream = try DPoPChecker(publicKeyPEM: harness.dpopPublicKeyPEM!, algorithm: .es256)
            harness.upstream.respond(TestUpstream.checksDPoP(upstream, origin: "https://\(harness.upstreamAuthority)"))
            return (harness, upstream)
        }

        @Test("the token request and every upstream request carry a proof (htm, htu without query, ath, a new jti each); the client's own DPoP field is removed")
        func proofs() async throws {
            let log = CapturingLogHandler.Buffer()
            let (harness, upstream) = try Self.harness(log: log)
            defer { harness.stop() }
            try await harness.waitForToken()
            #expect(harness.tokenEndpoint.rejections == [])
            #expect(harness.tokenDPoP?.accepted.withLock { $0.count } == 1)
            let client = try harness.client()
            let first = try client.exchange(harness.get("/items?page=2", extraFields: "DPoP: forged.by.client\r\n"))
            #expect(first.status == 200, "\(first.bodyText)")
            let second = try client.exchange("POST /items HTTP/1.1\r\nHost: 127.0.0.1:\(harness.proxyPort)\r\nContent-Length: 2\r\n\r\nhi")
            #expect(second.status == 200, "\(second.bodyText)")
            let claims = upstream.accepted.withLock { $0 }
            #expect(claims.map { $0["htm"]?.string } == ["GET", "POST"])
            #expect(claims.first?["htu"]?.string == "https://\(harness.upstreamAuthority)/items")
            let token = try #require(harness.tokenEndpoint.issuedTokens.first)
            #expect(harness.upstream.requests.first?.values(of: "authorization") == ["DPoP \(token)"])
            #expect(harness.upstream.requests.first?.values(of: "dpop").contains("forged.by.client") == false)
            // No log line carries a proof (nor the token: see the access-log tests).
            for proof in harness.upstream.requests.flatMap({ $0.values(of: "dpop") }) {
                #expect(!log.text.contains(String(proof.split(separator: ".")[2])))
            }
            #expect(!log.text.contains(token))
        }

        @Test("nonces on both sides: the endpoint's 400 use_dpop_nonce and the upstream's 401 use_dpop_nonce are each answered by one retry, and the nonce is kept")
        func nonces() async throws {
            let (harness, upstream) = try Self.harness(endpointNonce: "as-nonce-1")
            defer { harness.stop() }
            try await harness.waitForToken()
            #expect(harness.tokenDPoP?.missingNonce.load(ordering: .relaxed) == 1, "one request without the nonce, then one with it")
            #expect(harness.tokenEndpoint.requestCount == 2)
            upstream.nonce.withLock { $0 = "rs-nonce-1" }
            let client = try harness.client()
            let first = try client.exchange(harness.get("/n1"))
            #expect(first.status == 200, "\(first.bodyText)")
            #expect(upstream.missingNonce.load(ordering: .relaxed) == 1)
            #expect(try client.exchange(harness.get("/n2")).status == 200)
            #expect(upstream.missingNonce.load(ordering: .relaxed) == 1, "the next request sent the kept nonce at once")
            #expect(upstream.accepted.withLock { $0.map { $0["nonce"]?.string } } == ["rs-nonce-1", "rs-nonce-1"])
        }

        @Test("a Bearer answer to a DPoP token request is a configuration error: 503, and the log says the token was not bound")
        func bearerAnswerRefused() async throws {
            let log = CapturingLogHandler.Buffer()
            var options = ProxyHarness.Options()
            options.dpop = true
            options.dpopAtEndpoint = false
            options.logger = CapturingLogHandler.logger(into: log)
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            let response = try harness.client().exchange(harness.get("/x"))
            #expect(response.status == 503)
            #expect(response.jsonString("detail")?.contains("not DPoP") == true)
            #expect(log.text.contains("did not bind the token to the proxy's key"))
            #expect(harness.upstream.requests.isEmpty)
        }
    }
}
