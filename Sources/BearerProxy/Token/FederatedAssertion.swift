/// A client assertion someone else issued (`auth_method: federated_jwt`): typically a Kubernetes
/// projected service-account token that the identity provider trusts through a federated
/// credential (Entra ID workload identity, Keycloak federated client authentication). It goes
/// out as it is, as `client_assertion` (RFC 7523 §2.2). The proxy reads its claims only to refuse
/// one that has expired and to describe it; it checks no signature, that is the server's job.
///
/// The value is never logged or described: only issuer, subject, audience and expiry.
struct FederatedAssertion: Sendable {
    let value: Secret
    let issuer: String?
    let subject: String?
    let audiences: [String]
    /// `exp`, seconds since 1970 (RFC 7523 §3 item 4: required).
    let expiresAt: Double

    /// Reads `path` afresh (the kubelet replaces it well before it expires) and checks it can be
    /// sent at `now`. Errors name the file and the reason, never its contents.
    static func load(from path: String, now: Double) -> Result<FederatedAssertion, TokenError> {
        let contents: [UInt8]
        switch ConfigFiles.contents(of: path, limit: TokenConfig.maxAssertionFileSize) {
        case .failure(let failure): return .failure(.credentials("assertion_file: \(failure.message)"))
        case .success(let bytes): contents = bytes
        }
        let text = String(decoding: contents, as: UTF8.self).trimmingWhitespace()
        guard !text.isEmpty else { return .failure(.credentials("assertion_file \(path) is empty")) }
        guard let jwt = JWTInspection(text) else {
            return .failure(.credentials("assertion_file \(path) does not hold a JWT (RFC 7523 §2.2 sends one)"))
        }
        guard let expiresAt = jwt.number("exp") else {
            return .failure(.credentials("the assertion in \(path) has no exp claim (RFC 7523 §3 requires one)"))
        }
        let assertion = FederatedAssertion(
            value: Secret(text), issuer: jwt.claims["iss"]?.string, subject: jwt.claims["sub"]?.string,
            audiences: jwt.claims["aud"].map { $0.string.map { [$0] } ?? $0.strings ?? [] } ?? [], expiresAt: expiresAt)
        guard expiresAt > now else {
            // Never sent: the server would refuse it, and say less about why than this does.
            return .failure(.credentials("the assertion in \(path) expired at \(LogTimestamp.utc(expiresAt)) "
                + "(\(Int((now - expiresAt).rounded(.up)))s ago; \(assertion.claimsText)); waiting for the file to be replaced"))
        }
        return .success(assertion)
    }

    /// Who issued it, for whom and until when: what an operator compares with the federated
    /// credential the identity provider holds.
    var claimsText: String {
        "issuer \(issuer ?? "-"), subject \(subject ?? "-"), audience \(audiences.isEmpty ? "-" : audiences.joined(separator: " "))"
    }

    /// `claimsText` with the expiry, relative to `now`.
    func description(now: Double) -> String {
        let remaining = Int((expiresAt - now).rounded(.down))
        return "\(claimsText), expires \(LogTimestamp.utc(expiresAt)) (in \(remaining)s)"
    }
}
