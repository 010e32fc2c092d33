import Foundation
import Testing
@testable import BearerProxy

@Suite("Federated client assertion (auth_method: federated_jwt)")
struct FederatedAssertionTests {
    static func file(_ contents: String) -> String {
        let path = TokenFixture.temporaryDirectory() + "/token"
        try! contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static var now: Double { Date().timeIntervalSince1970 }

    @Test("a valid assertion is read trimmed, with its issuer, subject, audience and expiry")
    func valid() throws {
        let jwt = WorkloadIssuer.mint(expiresIn: 3600)
        let assertion = try FederatedAssertion.load(from: Self.file(jwt + "\n"), now: Self.now).get()
        #expect(assertion.value.value == jwt)
        #expect(assertion.issuer == WorkloadIssuer.issuer)
        #expect(assertion.subject == WorkloadIssuer.subject)
        #expect(assertion.audiences == ["api://AzureADTokenExchange"])
        let described = assertion.description(now: Self.now)
        #expect(described.contains("issuer https://kubernetes.default.svc.cluster.local, subject system:serviceaccount:payments:legacy-app"))
        #expect(described.contains("(in 3599s)") || described.contains("(in 3600s)"))
        #expect(!described.contains(jwt.split(separator: ".")[2]), "never the assertion itself")
    }

    @Test("an expired assertion is never sent: the error says when it expired and who issued it, not its value")
    func expired() {
        let jwt = WorkloadIssuer.mint(expiresIn: -120)
        let result = FederatedAssertion.load(from: Self.file(jwt), now: Self.now)
        guard case .failure(.credentials(let why)) = result else {
            Issue.record("expected a credentials error, got \(result)")
            return
        }
        #expect(why.contains("expired at "))
        #expect(why.contains("s ago; issuer https://kubernetes.default.svc.cluster.local"))
        #expect(why.contains("waiting for the file to be replaced"))
        #expect(!why.contains(jwt.split(separator: ".")[1]))
    }

    @Test("a missing, empty, non-JWT or exp-less file is refused, naming the file")
    func unusable() {
        let missing = TokenFixture.temporaryDirectory() + "/absent"
        let noExp = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64URL.encode(Array(#"{"sub":"x"}"#.utf8)) + ".sig"
        let cases: [(String, String)] = [
            (missing, "assertion_file: cannot read \(missing)"),
            (Self.file("  \n"), "is empty"),
            (Self.file("not-a-jwt"), "does not hold a JWT"),
            (Self.file(noExp), "has no exp claim (RFC 7523 §3 requires one)"),
        ]
        for (path, needle) in cases {
            let result = FederatedAssertion.load(from: path, now: Self.now)
            guard case .failure(.credentials(let why)) = result else {
                Issue.record("\(path): expected a credentials error, got \(result)")
                continue
            }
            #expect(why.contains(needle), "\(why)")
        }
    }

    @Test("the credential source reads the file afresh for each request, and a replaced file changes the fingerprint")
    func rotation() throws {
        let path = Self.file(WorkloadIssuer.mint(expiresIn: 3600, id: "first"))
        let token = TokenConfig(url: nil, clientID: "app", clientSecret: nil, secretSource: nil,
                                authMethod: .federatedJWT, assertionFile: path)
        let source = ClientCredentialSource(token)
        #expect(source.watchedFiles == [path])
        let before = source.fingerprint()
        let first = try source.load(now: Self.now).get().assertion?.value
        WorkloadIssuer.write(WorkloadIssuer.mint(expiresIn: 3600, id: "second"), to: path)
        let second = try source.load(now: Self.now).get().assertion?.value
        #expect(first != second)
        #expect(JWTInspection(second ?? "")?.claims["jti"]?.string == "second")
        #expect(source.fingerprint() != before)
    }
}
