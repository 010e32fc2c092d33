import BearerTLS
import Foundation
import Testing
@testable import BearerProxy

extension ConfigTests {
    /// The issue 4 keys: issuer, every auth_method and its credential keys, request parameters.
    @Suite("token auth method and request keys")
    struct TokenAuthConfigLoadingTests {
        static let head = """
            upstream:
              url: https://api.example.com
            token:
              client_id: my-app
            """
        static let ecPEM = try! JWSSigningKey.generate(.ecP256).privateKeyPEM()

        static func withKey(_ extra: String) -> (yaml: String, directory: String) {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write(ecPEM, to: directory + "/key.pem")
            return (head + "\n  url: https://auth.example.com/t\n  auth_method: private_key_jwt\n  private_key_file: key.pem" + extra, directory)
        }

        @Test("issuer instead of url: no url, discovery described in check-config")
        func issuer() throws {
            let config = try ConfigFixture.parse(Self.head + "\n  issuer: https://auth.example.com/realms/acme\n  client_secret: s")
            #expect(config.token.url == nil)
            #expect(config.token.issuer?.description == "https://auth.example.com/realms/acme")
            #expect(config.summary().contains("token issuer: https://auth.example.com/realms/acme (endpoint found by discovery; certificate verified against system trust store)"))
        }

        @Test("basic_encoding: form by default, raw when set; another value, another method or a ':' in a raw client_id is an error")
        func basicEncoding() throws {
            let base = Self.head + "\n  url: https://auth.example.com/t\n  client_secret: s"
            #expect(try ConfigFixture.parse(base).token.basicEncoding == .form)
            #expect(try ConfigFixture.parse(base + "\n  basic_encoding: raw").token.basicEncoding == .raw)
            #expect(ConfigFixture.error(base + "\n  basic_encoding: plain")?.description
                == "proxy.conf:7: token.basic_encoding: must be one of form, raw")
            #expect(ConfigFixture.error(base + "\n  auth_method: client_secret_post\n  basic_encoding: raw")?.description
                == "proxy.conf:8: token.basic_encoding: is not used with auth_method: client_secret_post")
            let colon = base.replacingOccurrences(of: "client_id: my-app", with: "client_id: my:app") + "\n  basic_encoding: raw"
            #expect(ConfigFixture.error(colon)?.description.contains("token.basic_encoding: raw cannot carry a client_id that contains") == true)
        }

        @Test("url and issuer together, or neither, are errors naming the key")
        func urlXorIssuer() throws {
            let both = Self.head + "\n  url: https://a.example/t\n  issuer: https://a.example\n  client_secret: s"
            #expect(ConfigFixture.error(both)?.description == "proxy.conf:6: token.issuer: set either url or issuer, not both")
            let neither = Self.head + "\n  client_secret: s"
            #expect(ConfigFixture.error(neither)?.description == "proxy.conf: token.url: required key is missing (set token.url, or token.issuer for discovery)")
            let http = Self.head + "\n  issuer: http://a.example\n  client_secret: s"
            #expect(ConfigFixture.error(http)?.description == "proxy.conf:5: token.issuer: must use https (set token.insecure_http: true to allow http)")
        }

        @Test("federated_jwt needs assertion_file (resolved, not read at load) and no secret; the key belongs to no other method")
        func federatedJWT() throws {
            let base = Self.head + "\n  url: https://auth.example.com/t\n  auth_method: federated_jwt"
            let config = try ConfigFixture.parse(base + "\n  assertion_file: tokens/oauth-token", baseDirectory: "/etc/bp")
            #expect(config.token.authMethod == .federatedJWT)
            #expect(config.token.assertionFile == "/etc/bp/tokens/oauth-token")
            #expect(config.token.clientSecret == nil)
            #expect(config.summary().contains("assertion: file /etc/bp/tokens/oauth-token, NOT readable now, re-read for every token request"))
            #expect(ConfigFixture.error(base)?.description
                == "proxy.conf: token.assertion_file: required key is missing (auth_method: federated_jwt sends the JWT in this file, e.g. a projected service-account token)")
            #expect(ConfigFixture.error(base + "\n  assertion_file: /t\n  client_secret: s")?.description
                == "proxy.conf:8: token.client_secret: is not used with auth_method: federated_jwt")
            #expect(ConfigFixture.error(Self.head + "\n  url: https://auth.example.com/t\n  client_secret: s\n  assertion_file: /t")?.description
                == "proxy.conf:7: token.assertion_file: is not used with auth_method: client_secret_basic")
        }

        @Test("private_key_jwt reads the key, defaults signing_alg from its type, and needs no secret")
        func privateKeyJWT() throws {
            let (yaml, directory) = Self.withKey("\n  key_id: key-1")
            let config = try ConfigFixture.parse(yaml, baseDirectory: directory)
            #expect(config.token.privateKeyFile == directory + "/key.pem")
            #expect(config.token.signingAlgorithm == .es256)
            #expect(config.token.keyID == "key-1")
            #expect(config.token.clientSecret == nil)
            let summary = config.summary().joined(separator: "\n")
            #expect(summary.contains("private key: file \(directory)/key.pem, readable, signing_alg ES256, key_id key-1"))
            #expect(!summary.contains("BEGIN"))
        }

        @Test("signing_alg that does not fit the key is an error at its line")
        func signingAlgMismatch() throws {
            let (yaml, directory) = Self.withKey("\n  signing_alg: RS256")
            #expect(ConfigFixture.error(yaml, baseDirectory: directory)?.description
                == "proxy.conf:8: token.signing_alg: RS256 does not fit the EC P-256 key in private_key_file")
        }

        @Test("a private key file that is not a key is an error that does not quote the file")
        func badKeyFile() throws {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write("SECRET-CONTENT-4711\n", to: directory + "/key.pem")
            let yaml = Self.head + "\n  url: https://auth.example.com/t\n  auth_method: private_key_jwt\n  private_key_file: key.pem"
            let error = try #require(ConfigFixture.error(yaml, baseDirectory: directory))
            #expect(error.key == "token.private_key_file")
            #expect(error.line == 7)
            #expect(!error.description.contains("SECRET-CONTENT"))
        }

        @Test("keys of another method are errors, not silently ignored")
        func keysOfOtherMethods() throws {
            let (yaml, directory) = Self.withKey("\n  client_secret: s")
            #expect(ConfigFixture.error(yaml, baseDirectory: directory)?.description
                == "proxy.conf:8: token.client_secret: is not used with auth_method: private_key_jwt")
            let basic = ConfigFixture.minimal + "\n  private_key_file: k.pem"
            #expect(ConfigFixture.error(basic)?.description == "proxy.conf:7: token.private_key_file: is not used with auth_method: client_secret_basic")
        }

        @Test("tls_client_auth needs a readable certificate and key")
        func tlsClientAuth() throws {
            let directory = ConfigFixture.temporaryDirectory()
            let yaml = Self.head + "\n  url: https://auth.example.com/t\n  auth_method: tls_client_auth\n  client_cert_file: c.pem\n  client_key_file: k.pem"
            #expect(ConfigFixture.error(yaml, baseDirectory: directory)?.key == "token.client_cert_file")
            ConfigFixture.write(ConfigFixture.pemCertificate, to: directory + "/c.pem")
            ConfigFixture.write(Self.ecPEM, to: directory + "/k.pem")
            let config = try ConfigFixture.parse(yaml, baseDirectory: directory)
            #expect(config.token.clientCertificateFile == directory + "/c.pem")
            #expect(config.token.clientKeyFile == directory + "/k.pem")
            #expect(config.summary().contains("client key: file \(directory)/k.pem, readable"))
        }

        @Test("audience, resource and extra_params load in order; resource must be an absolute URI; reserved names are refused")
        func requestParameters() throws {
            let config = try ConfigFixture.parse(ConfigFixture.minimal
                + "\n  audience: https://api.example.com\n  resource: [https://api.example.com/v2, urn:x]\n  extra_params: {tenant: acme, a: 1}")
            #expect(config.token.audience == "https://api.example.com")
            #expect(config.token.resources == ["https://api.example.com/v2", "urn:x"])
            #expect(config.token.extraParameters == [TokenParameter(name: "tenant", value: "acme"), TokenParameter(name: "a", value: "1")])
            #expect(ConfigFixture.error(ConfigFixture.minimal + "\n  resource: [api/v2]")?.description
                == "proxy.conf:7: token.resource[0]: must be an absolute URI without a fragment (RFC 8707 §2)")
            #expect(ConfigFixture.error(ConfigFixture.minimal + "\n  extra_params: {scope: x}")?.key == "token.extra_params")
        }
    }
}
