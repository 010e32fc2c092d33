import Foundation
import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("token client secret loading")
    struct TokenConfigLoadingTests {
        static let base = """
            upstream:
              url: https://api.example.com
            token:
              url: https://auth.example.com/oauth2/token
              client_id: my-app
            """
        static let distinctive = "S3CRET-do-not-print-4711"

        // Every token is refused below TokenLifetime.minimum, so a shorter default could never work.
        @Test("a default_lifetime under 1s is refused at load; 1s is taken")
        func defaultLifetimeFloor() throws {
            let short = ConfigFixture.minimal + "\n  default_lifetime: 500ms"
            let error = try #require(ConfigFixture.error(short))
            #expect(error.description == "proxy.conf:7: token.default_lifetime: must be at least 1s")
            let config = try ConfigFixture.parse(ConfigFixture.minimal + "\n  default_lifetime: 1s")
            #expect(config.token.defaultLifetime == .seconds(1))
        }

        @Test("secret file has its trailing newline stripped and is resolved against the config directory")
        func secretFromFile() throws {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write("  \(Self.distinctive)\n", to: directory + "/client_secret")
            let config = try ConfigFixture.parse(Self.base + "\n  client_secret_file: client_secret", baseDirectory: directory)
            #expect(config.token.clientSecret?.value == Self.distinctive)
            #expect(config.token.secretSource == .file(directory + "/client_secret"))
        }

        @Test("secret file wins over the environment")
        func fileBeatsEnvironment() throws {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write("from-file\n", to: directory + "/s")
            let config = try ConfigFixture.parse(
                Self.base + "\n  client_secret_file: \(directory)/s",
                environment: ["BEARER_PROXY_CLIENT_SECRET": "from-env"])
            #expect(config.token.clientSecret?.value == "from-file")
        }

        @Test("unreadable secret file is an error naming token.client_secret_file, without the secret")
        func unreadableSecretFile() throws {
            let directory = ConfigFixture.temporaryDirectory()
            let yaml = Self.base + "\n  client_secret_file: missing"
            let error = try #require(ConfigFixture.error(
                yaml, environment: ["BEARER_PROXY_CLIENT_SECRET": Self.distinctive], baseDirectory: directory))
            #expect(error.description
                == "proxy.conf:6: token.client_secret_file: cannot read \(directory)/missing: No such file or directory")
            #expect(!error.description.contains(Self.distinctive))
        }

        @Test("a directory as secret file is an error naming token.client_secret_file")
        func directoryAsSecretFile() throws {
            let directory = ConfigFixture.temporaryDirectory()
            let error = try #require(ConfigFixture.error(Self.base + "\n  client_secret_file: .", baseDirectory: directory))
            #expect(error.key == "token.client_secret_file")
            #expect(error.line == 6)
        }

        @Test("an empty or whitespace-only secret file is an error")
        func emptySecretFile() throws {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write(" \n\n", to: directory + "/empty")
            let error = try #require(ConfigFixture.error(Self.base + "\n  client_secret_file: empty", baseDirectory: directory))
            #expect(error.description == "proxy.conf:6: token.client_secret_file: \(directory)/empty is empty")
        }

        @Test("a secret file loses surrounding Unicode white space but keeps inner spaces")
        func secretFileTrimmed() throws {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write("\u{3000} se cret\u{A0}\r\n", to: directory + "/s")
            let config = try ConfigFixture.parse(Self.base + "\n  client_secret_file: s", baseDirectory: directory)
            #expect(config.token.clientSecret?.value == "se cret")
        }

        @Test("client_secret_file and client_secret together are an error")
        func bothForms() throws {
            let yaml = Self.base + "\n  client_secret_file: /x\n  client_secret: \(Self.distinctive)"
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.description == "proxy.conf:7: token.client_secret: set either client_secret_file or client_secret, not both")
            #expect(!error.description.contains(Self.distinctive))
        }

        @Test("secret comes from BEARER_PROXY_CLIENT_SECRET when the file sets none")
        func environmentSecret() throws {
            let config = try ConfigFixture.parse(Self.base, environment: ["BEARER_PROXY_CLIENT_SECRET": Self.distinctive])
            #expect(config.token.clientSecret?.value == Self.distinctive)
            #expect(config.token.secretSource == .environment("BEARER_PROXY_CLIENT_SECRET"))
        }

        @Test("an empty environment secret is an error")
        func emptyEnvironmentSecret() throws {
            let error = try #require(ConfigFixture.error(Self.base, environment: ["BEARER_PROXY_CLIENT_SECRET": ""]))
            #expect(error.key == "token.client_secret")
            #expect(error.message.contains("BEARER_PROXY_CLIENT_SECRET is empty"))
        }

        @Test("inline secret beats the environment")
        func inlineBeatsEnvironment() throws {
            let config = try ConfigFixture.parse(
                Self.base + "\n  client_secret: inline-one", environment: ["BEARER_PROXY_CLIENT_SECRET": "env-one"])
            #expect(config.token.clientSecret?.value == "inline-one")
            #expect(config.token.secretSource == .inline)
        }

        @Test("errors about client_secret never echo its value", arguments: [
            "\n  client_secret: [\(distinctive)]",
            "\n  client_secret: {v: \(distinctive)}",
            "\n  client_secret: \"\(distinctive)",
            "\n  client_secret: \(distinctive)\n  client_secret: \(distinctive)",
            "\n  client_secret: \(distinctive)\n    nested: \(distinctive)",
            "\n  client_secret: \(distinctive)\n  clent_id: x",
        ])
        func errorsDoNotEchoSecret(extra: String) throws {
            let error = try #require(ConfigFixture.error(Self.base + extra))
            #expect(!error.description.contains(Self.distinctive), "\(error)")
            #expect(!error.description.contains("4711"))
        }
    }
}
