/// What the shared cache stores for a token, before it is sealed: the token and the times every
/// replica needs to judge it the same way. Times are wall-clock milliseconds since 1970, the only
/// clock replicas on different hosts share (they are expected to run NTP, as Kubernetes nodes do).
struct SharedTokenEntry: Sendable, Equatable, CustomStringConvertible {
    var accessToken: String
    /// `token_type: DPoP`: the token is bound to the DPoP key (which the replicas then share).
    var isDPoP: Bool
    var scope: String?
    /// When the token stops being valid.
    var expiresAtMilliseconds: Int64
    /// The lifetime it was granted with, which sets the refresh margin.
    var lifetimeMilliseconds: Int64
    var lifetimeSource: TokenLifetime.Source

    /// Format version; a replica ignores a value of another version.
    static let version: Int64 = 1

    var description: String { "SharedTokenEntry(<redacted>, expires_at_ms: \(expiresAtMilliseconds))" }

    var lifetime: Duration { .milliseconds(lifetimeMilliseconds) }

    /// The entry for a token granted by a fetch that started at `started` (seconds since 1970),
    /// with the lifetime the provider will give it.
    init(grant: TokenGrant, lifetime: Duration, source: TokenLifetime.Source, started: Double) {
        accessToken = grant.accessToken
        isDPoP = grant.isDPoP
        scope = grant.scope
        lifetimeMilliseconds = Self.milliseconds(lifetime)
        // From when the request started, as the provider counts: errs on the early side.
        expiresAtMilliseconds = Int64((started * 1000).rounded(.down)) + lifetimeMilliseconds
        lifetimeSource = source
    }

    init(accessToken: String, isDPoP: Bool, scope: String?, expiresAtMilliseconds: Int64, lifetimeMilliseconds: Int64,
         lifetimeSource: TokenLifetime.Source) {
        self.accessToken = accessToken
        self.isDPoP = isDPoP
        self.scope = scope
        self.expiresAtMilliseconds = expiresAtMilliseconds
        self.lifetimeMilliseconds = lifetimeMilliseconds
        self.lifetimeSource = lifetimeSource
    }

    /// The JSON text that gets sealed.
    func encoded() -> [UInt8] {
        var members: [(String, JSONText.Value)] = [
            ("v", .integer(Self.version)),
            ("access_token", .string(accessToken)),
            ("token_type", .string(isDPoP ? "DPoP" : "Bearer")),
            ("expires_at_ms", .integer(expiresAtMilliseconds)),
            ("lifetime_ms", .integer(lifetimeMilliseconds)),
            ("lifetime_from", .string(lifetimeSource.rawValue)),
        ]
        if let scope { members.append(("scope", .string(scope))) }
        return Array(JSONText.object(members).utf8)
    }

    /// An opened value, checked as strictly as a token endpoint's answer: the same header-safety
    /// rule for the token, sane times. nil for anything else.
    static func decode(_ bytes: [UInt8]) -> SharedTokenEntry? {
        guard let json = (try? JSONValue.parse(bytes))?.object,
              json["v"]?.number == Double(version),
              let token = json["access_token"]?.string, AccessToken.isValidBearerValue(token),
              let type = json["token_type"]?.string, type == "Bearer" || type == "DPoP",
              let expires = json["expires_at_ms"]?.number, expires.isFinite, expires > 0, expires < 1e15,
              let lifetime = json["lifetime_ms"]?.number, lifetime.isFinite, lifetime > 0,
              lifetime <= Double(milliseconds(TokenLifetime.maximum)),
              let source = json["lifetime_from"]?.string.flatMap(TokenLifetime.Source.init(rawValue:)) else {
            return nil
        }
        return SharedTokenEntry(accessToken: token, isDPoP: type == "DPoP", scope: json["scope"]?.string,
                                expiresAtMilliseconds: Int64(expires), lifetimeMilliseconds: Int64(lifetime),
                                lifetimeSource: source)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
