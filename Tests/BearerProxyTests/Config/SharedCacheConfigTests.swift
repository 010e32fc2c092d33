import Foundation
import Testing
@testable import BearerProxy

extension ConfigTests {
    /// `token.shared_cache` (and per profile in `tokens:`).
    @Suite("token.shared_cache")
    struct SharedCacheConfigTests {
        static func directory() -> String {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write(String(repeating: "k", count: 32), to: directory + "/raw.key")
            ConfigFixture.write(String(repeating: "ab", count: 32) + "\n", to: directory + "/hex.key")
            ConfigFixture.write("ZmxlZXQta2V5LWZsZWV0LWtleS1mbGVldC1rZXktMzI=\n", to: directory + "/base64.key")
            ConfigFixture.write("too short\n", to: directory + "/short.key")
            ConfigFixture.write("s3cret-redis\n", to: directory + "/redis-password")
            return directory
        }

        static func yaml(_ cache: String) -> String {
            ConfigFixture.minimal + "\n  shared_cache:\n" + cache.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        }

        @Test("url, password_file, username, key_file and key_prefix are read; the key file may be raw, hex or base64")
        func loads() throws {
            let directory = Self.directory()
            let config = try ConfigFixture.parse(Self.yaml("""
                url: redis://redis.default.svc:6380/2
                username: fleet
                password_file: redis-password
                key_file: raw.key
                key_prefix: team-a
                """), baseDirectory: directory)
            let cache = try #require(config.token.sharedCache)
            #expect(cache.server == RedisURL(host: "redis.default.svc", port: 6380, isTLS: false, database: 2))
            #expect(cache.username == "fleet")
            #expect(cache.passwordFile == directory + "/redis-password")
            #expect(cache.key.bytes == Array(repeating: UInt8(ascii: "k"), count: 32))
            #expect(cache.keyPrefix == "team-a")
            #expect("\(cache.key)" == "<redacted>")
            let hex = try ConfigFixture.parse(Self.yaml("url: rediss://cache\nkey_file: hex.key"), baseDirectory: directory)
            #expect(hex.token.sharedCache?.key.bytes == Array(repeating: 0xAB, count: 32))
            #expect(hex.token.sharedCache?.server == RedisURL(host: "cache", port: 6379, isTLS: true, database: 0))
            #expect(hex.token.sharedCache?.keyPrefix == "bearer-proxy")
            let base64 = try ConfigFixture.parse(Self.yaml("url: redis://[::1]\nkey_file: base64.key"), baseDirectory: directory)
            #expect(base64.token.sharedCache?.key.bytes == Array("fleet-key-fleet-key-fleet-key-32".utf8))
            #expect(base64.token.sharedCache?.server.host == "::1")
        }

        @Test("bad values are errors that name the key")
        func rejects() {
            let directory = Self.directory()
            func error(_ cache: String) -> String? {
                ConfigFixture.error(Self.yaml(cache), baseDirectory: directory)?.description
            }
            #expect(error("url: redis://cache")?.hasSuffix("token.shared_cache.key_file: required key is missing") == true, "\(error("url: redis://cache") ?? "")")
            #expect(error("key_file: raw.key")?.contains("token.shared_cache.url: required key is missing") == true)
            #expect(error("url: http://cache\nkey_file: raw.key")?.contains("scheme must be redis or rediss (TLS)") == true)
            #expect(error("url: redis://cache/db1\nkey_file: raw.key")?.contains("path must be a database number") == true)
            #expect(error("url: redis://user:pw@cache\nkey_file: raw.key")?.contains("must not contain a user name or password") == true)
            #expect(error("url: redis://cache\nkey_file: short.key")?.contains("must hold 32 random bytes") == true)
            #expect(error("url: redis://cache\nkey_file: missing.key") != nil)
            #expect(error("url: redis://cache\nkey_file: raw.key\nca_file: raw.key")?.contains("is used only with a rediss:// url") == true)
            #expect(error("url: redis://cache\nkey_file: raw.key\nusername: fleet")?.contains("needs password_file") == true)
            #expect(error("url: redis://cache\nkey_file: raw.key\nkey_prefix: \"a b\"")?.contains("visible ASCII") == true)
            #expect(error("url: redis://cache\nkey_file: raw.key\nttl: 5")?.contains("ttl") == true)
        }

        @Test("each profile in tokens: can have its own")
        func perProfile() throws {
            let directory = Self.directory()
            let yaml = """
                routes:
                  - match: {path_prefix: /a/}
                    url: https://a.example.com
                    token: a
                  - match: {path_prefix: /b/}
                    url: https://b.example.com
                    token: b
                tokens:
                  a:
                    url: https://auth.example.com/t
                    client_id: app-a
                    client_secret: s
                    shared_cache: {url: "redis://cache:6379/0", key_file: raw.key}
                  b:
                    url: https://auth.example.com/t
                    client_id: app-b
                    client_secret: s
                """
            let config = try ConfigFixture.parse(yaml, baseDirectory: directory)
            #expect(config.tokenProfiles.map { $0.config.sharedCache != nil } == [true, false])
        }
    }
}
