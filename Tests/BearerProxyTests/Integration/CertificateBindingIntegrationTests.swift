@testable import BearerProxy
import BearerTLS
import BearerSync
import Foundation
import Testing

extension Integration {
    /// Certificate-bound tokens (RFC 8705 §3): the token endpoint authenticates the proxy by its
    /// client certificate and binds the token to it (`cnf.x5t#S256`); the upstream demands a
    /// client certificate and accepts the token only from a connection that presents that one.
    @Suite("Upstream client certificates and certificate-bound tokens")
    struct CertificateBinding {
        static func harness(_ presented: ProxyHarness.UpstreamClientCertificate) throws -> ProxyHarness {
            var options = ProxyHarness.Options()
            options.authentication = .tlsClientAuth
            options.upstreamRequiresClientCertificate = true
            options.upstreamClientCertificate = presented
            options.tokenMinRequestInterval = "0s"
            let harness = try ProxyHarness(options)
            harness.upstream.respond(TestUpstream.checksBinding)
            return harness
        }

        @Test("a token bound to the certificate is accepted when the upstream connection presents that certificate")
        func accepted() async throws {
            let harness = try Self.harness(.sameAsToken)
            defer { harness.stop() }
            try await harness.waitForToken()
            let token = try #require(harness.tokenEndpoint.issuedTokens.first)
            #expect(JWTInspection(token)?.claims["cnf"]?.object?["x5t#S256"]?.string != nil, "the endpoint bound the token")
            let response = try harness.client().exchange(harness.get("/bound"))
            #expect(response.status == 200)
            #expect(response.bodyText == "bound to the presented certificate")
        }

        @Test("the same token is refused from a connection that presents another certificate (401 invalid_token, relayed after one retry)")
        func otherCertificate() async throws {
            let harness = try Self.harness(.other)
            defer { harness.stop() }
            try await harness.waitForToken()
            let response = try harness.client().exchange(harness.get("/bound"))
            #expect(response.status == 401, "\(response.bodyText)")
            #expect(response.value(of: "www-authenticate")?.contains("invalid_token") == true)
        }

        @Test("without a client certificate the upstream refuses the connection: 502")
        func noCertificate() async throws {
            let harness = try Self.harness(.none)
            defer { harness.stop() }
            try await harness.waitForToken()
            let response = try harness.client().exchange(harness.get("/bound"))
            #expect(response.status == 502)
            #expect(harness.upstream.requests.isEmpty)
        }

        @Test("a rotated upstream certificate is presented by the next new connection")
        func rotation() async throws {
            var options = ProxyHarness.Options()
            options.upstreamRequiresClientCertificate = true
            options.upstreamClientCertificate = .other
            let harness = try ProxyHarness(options)
            defer { harness.stop() }
            let seen = Locked<[[UInt8]]>([])
            // Every answer closes its connection, so every request opens a new one.
            harness.upstream.respond { request in
                seen.withLock { $0.append(request.clientCertificateSHA256 ?? []) }
                return .rawThenClose(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8))
            }
            try await harness.waitForToken()
            #expect(try harness.client().exchange(harness.get("/one")).status == 200)
            let before = try #require(seen.withLock { $0.first })
            // The kubelet way: new files moved over the old ones.
            let replacement = try harness.certificateAuthority.issueClientCertificate(commonName: "rotated-workload")
            try Data(replacement.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: harness.directory + "/other.key.new"))
            try Data(replacement.certificatePEM.utf8).write(to: URL(fileURLWithPath: harness.directory + "/other.crt.new"))
            _ = rename(harness.directory + "/other.key.new", harness.directory + "/other.key")
            _ = rename(harness.directory + "/other.crt.new", harness.directory + "/other.crt")
            let expected = try CertificateThumbprint.sha256(ofLeafInPEM: replacement.certificatePEM)
            #expect(expected != before)
            try await poll("a new connection presenting the rotated certificate", timeout: .seconds(15)) {
                _ = try? harness.client().exchange(harness.get("/again"))
                return seen.withLock { $0.last } == expected
            }
        }
    }
}
