import BearerTLS
import Foundation
import Testing
@testable import BearerProxy

@Suite("bearer-proxy token output")
struct TokenProbeTests {
    static let config = try! ConfigFixture.parse(ConfigFixture.minimal + "\n  scopes: [read, write]").token
    static let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0." + Base64URL.encode(Array(#"{"sub":"my-app","exp":1700000300,"iat":1700000000}"#.utf8)) + ".c2ln"

    @Test("a JWT is described (header, claims, lifetime, scopes) and the token stays hidden without --show-token")
    func describesJWT() {
        let grant = TokenGrant(accessToken: Self.jwt, expiresIn: .seconds(300), scope: "read", expiry: 1_700_000_300, issuedAt: 1_700_000_000)
        let report = TokenProbe.describe(Self.config, metadata: nil, result: .success(grant), showToken: false)
        #expect(report.succeeded)
        #expect(report.lines == [
            "token endpoint: https://auth.example.com/oauth2/token",
            "client_id: my-app",
            "auth method: client_secret_basic",
            "scopes requested: read write",
            "scopes granted: read",
            "lifetime: 5m (from expires_in)",
            #"JWT header: {"alg":"RS256","kid":"k1"}"#,
            #"JWT claims: {"exp":1700000300,"iat":1700000000,"sub":"my-app"}"#,
            "access_token: <hidden; --show-token prints it>",
        ])
        let text = report.lines.joined()
        #expect(!text.contains(Self.jwt))
        #expect(!text.contains("minimal-secret-value"))
        let shown = TokenProbe.describe(Self.config, metadata: nil, result: .success(grant), showToken: true)
        #expect(shown.lines.last == "access_token: \(Self.jwt)")
    }

    @Test("a certificate-bound token (cnf.x5t#S256) says so, and whether each upstream that uses it presents that certificate")
    func certificateBound() throws {
        let ca = try CertificateAuthority.generate(commonName: "probe test CA")
        let directory = ConfigFixture.temporaryDirectory()
        let bound = try ca.issueClientCertificate(commonName: "bound")
        let other = try ca.issueClientCertificate(commonName: "other")
        ConfigFixture.write(bound.certificatePEM, to: directory + "/bound.crt")
        ConfigFixture.write(other.certificatePEM, to: directory + "/other.crt")
        let thumbprint = Base64URL.encode(try CertificateThumbprint.sha256(ofLeafInPEM: bound.certificatePEM))
        let claims = #"{"cnf":{"x5t#S256":"\#(thumbprint)"},"exp":4000000000,"sub":"my-app"}"#
        let token = "eyJhbGciOiJSUzI1NiJ9." + Base64URL.encode(Array(claims.utf8)) + ".c2ln"
        let grant = TokenGrant(accessToken: token, expiresIn: .seconds(300), scope: nil, expiry: 4_000_000_000, issuedAt: nil)
        let report = TokenProbe.describe(Self.config, metadata: nil, result: .success(grant), showToken: false,
                                         upstreamCertificateFiles: [directory + "/bound.crt", directory + "/other.crt", nil])
        #expect(report.lines.contains("certificate-bound: cnf.x5t#S256 \(thumbprint) (RFC 8705 §3): the upstream accepts it only from a connection that presents that certificate"))
        #expect(report.lines.contains("the upstream presents that certificate (\(directory)/bound.crt)"))
        #expect(report.lines.contains { $0.hasPrefix("warning: the upstream presents another certificate (\(directory)/other.crt)") })
        #expect(report.lines.contains { $0.hasPrefix("warning: an upstream that uses this token presents no client certificate") })
    }

    @Test("a token that is already expired is described but is not a success (exit 1), as the proxy would not use it")
    func expiredTokenFails() {
        let grant = TokenGrant(accessToken: Self.jwt, expiresIn: nil, scope: nil, expiry: 1_000_000_000, issuedAt: nil)
        let report = TokenProbe.describe(Self.config, metadata: nil, result: .success(grant), showToken: false)
        #expect(!report.succeeded)
        #expect(report.lines.contains("lifetime: unusable (invalid token response: token is already expired (its exp has passed))"))
    }

    @Test("a failure names the endpoint's error and says when it is a configuration problem")
    func describesFailure() {
        let report = TokenProbe.describe(Self.config, metadata: nil,
                                         result: .failure(.rejected(status: 401, error: "invalid_client", errorDescription: nil)), showToken: true)
        #expect(!report.succeeded)
        #expect(report.lines.suffix(2) == ["FAILED: token endpoint answered 401 error=invalid_client",
                                           "(a configuration error: check client_id, the credential and the auth method)"])
    }
}
