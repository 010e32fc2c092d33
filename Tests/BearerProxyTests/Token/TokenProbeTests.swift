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
