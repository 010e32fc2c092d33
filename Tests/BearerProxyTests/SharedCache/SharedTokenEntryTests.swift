@testable import BearerProxy
import Testing

@Suite("shared cache: what is stored, and under which name")
struct SharedTokenEntryTests {
    @Test("an entry survives encoding, and the times count from when the request started")
    func roundTrip() throws {
        let grant = TokenGrant(accessToken: "eyJ.a-b_c.d", expiresIn: .seconds(3600), scope: "read write")
        let entry = SharedTokenEntry(grant: grant, lifetime: .seconds(3600), source: .expiresIn, started: 1_700_000_000.25)
        #expect(entry.expiresAtMilliseconds == 1_700_003_600_250)
        #expect(SharedTokenEntry.decode(entry.encoded()) == entry)
        #expect(!"\(entry)".contains("eyJ"))
    }

    @Test("a value that could not become a header, or has odd times or another version, is refused")
    func strict() {
        func decode(_ json: String) -> SharedTokenEntry? { SharedTokenEntry.decode(Array(json.utf8)) }
        let good = #"{"v":1,"access_token":"t","token_type":"Bearer","expires_at_ms":1700000000000,"lifetime_ms":60000,"lifetime_from":"expires_in"}"#
        #expect(decode(good) != nil)
        #expect(decode(good.replacingOccurrences(of: #""t""#, with: #""a\r\nX-Evil: 1""#)) == nil)
        #expect(decode(good.replacingOccurrences(of: #""v":1"#, with: #""v":2"#)) == nil)
        #expect(decode(good.replacingOccurrences(of: "60000", with: "-1")) == nil)
        #expect(decode(good.replacingOccurrences(of: "Bearer", with: "MAC")) == nil)
        #expect(decode("not json") == nil)
    }

    @Test("the key name is a hash of the token settings, stable, and changes with each of them")
    func keyNames() {
        let base = SharedCacheReplica.tokenConfig()
        let key = SharedCacheKey(base, prefix: "p", boundTo: nil)
        #expect(key.token.hasPrefix("p:token:") && key.token.count == "p:token:".count + 64)
        #expect(key.lease == key.token.replacingOccurrences(of: ":token:", with: ":lease:"))
        #expect(SharedCacheKey(base, prefix: "p", boundTo: nil) == key)
        var changes: [TokenConfig] = []
        var other = base; other.clientID = "x"; changes.append(other)
        other = base; other.scopes = ["write"]; changes.append(other)
        other = base; other.audience = "api"; changes.append(other)
        other = base; other.resources = ["https://api"]; changes.append(other)
        other = base; other.extraParameters = [TokenParameter(name: "tenant", value: "a")]; changes.append(other)
        other = base; other.authMethod = .clientSecretPost; changes.append(other)
        other = base; other.url = EndpointURL(scheme: "https", host: "idp2.example", port: 443, path: "/token"); changes.append(other)
        let names = Set(changes.map { SharedCacheKey($0, prefix: "p", boundTo: nil).token } + [key.token])
        #expect(names.count == changes.count + 1)
        #expect(SharedCacheKey(base, prefix: "p", boundTo: "dpop:{}") != key)
        #expect(SharedCacheKey(base, prefix: "q", boundTo: nil) != key)
        // The secret is not part of it: rotating it keeps the fleet's token.
        other = base; other.clientSecret = Secret("rotated")
        #expect(SharedCacheKey(other, prefix: "p", boundTo: nil) == key)
    }
}
