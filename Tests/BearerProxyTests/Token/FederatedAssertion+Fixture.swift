import BearerTLS
import Foundation
@testable import BearerProxy

/// Assertions as a workload identity issuer (a Kubernetes API server) would mint them: ES256 JWTs
/// with the claims a projected service-account token carries.
enum WorkloadIssuer {
    static let key = try! JWSSigningKey.generate(.ecP256)
    static let issuer = "https://kubernetes.default.svc.cluster.local"
    static let subject = "system:serviceaccount:payments:legacy-app"

    /// `expiresIn` seconds from now (negative: already expired).
    static func mint(expiresIn: Int, audience: String = "api://AzureADTokenExchange", subject: String = subject,
                     id: String = UUID().uuidString) -> String {
        let now = Int(Date().timeIntervalSince1970)
        let header = #"{"alg":"ES256","kid":"workload-1","typ":"JWT"}"#
        let claims = #"{"aud":["\#(audience)"],"exp":\#(now + expiresIn),"iat":\#(now - 60),"iss":"\#(issuer)","jti":"\#(id)","nbf":\#(now - 60),"sub":"\#(subject)"}"#
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let signature = try! key.sign(Array(input.utf8), algorithm: .es256)
        return input + "." + Base64URL.encode(signature)
    }

    /// Writes `assertion` the way the kubelet does: a new file moved over the old one.
    static func write(_ assertion: String, to path: String) {
        let staging = path + ".new"
        try! (assertion + "\n").write(toFile: staging, atomically: false, encoding: .utf8)
        _ = rename(staging, path)
    }
}
