import BearerTLS
import Foundation
import Testing
@testable import BearerProxy

extension ConfigTests {
    /// `upstream.client_cert_file` and `client_key_file` (and the same per route), and what
    /// `check-config` says about certificate-bound tokens (RFC 8705 §3).
    @Suite("upstream client certificate")
    struct UpstreamClientCertificateConfigTests {
        static let ca = try! CertificateAuthority.generate(commonName: "config test CA")

        /// A directory with client.crt/client.key and other.crt/other.key, two certificates.
        static func directory() throws -> String {
            let directory = ConfigFixture.temporaryDirectory()
            for name in ["client", "other"] {
                let identity = try ca.issueClientCertificate(commonName: name)
                ConfigFixture.write(identity.certificatePEM, to: directory + "/\(name).crt")
                ConfigFixture.write(identity.privateKeyPEM, to: directory + "/\(name).key")
            }
            return directory
        }

        static let head = """
            upstream:
              url: https://api.example.com
            """
        static let secretToken = """

            token:
              url: https://auth.example.com/t
              client_id: my-app
              client_secret: s
            """

        @Test("both files are read, resolved, and described; one without the other, an unreadable file or http is an error")
        func keys() throws {
            let directory = try Self.directory()
            let both = Self.head + "\n  client_cert_file: client.crt\n  client_key_file: client.key" + Self.secretToken
            let config = try ConfigFixture.parse(both, baseDirectory: directory)
            #expect(config.upstream.clientCertificateFile == directory + "/client.crt")
            #expect(config.upstream.clientKeyFile == directory + "/client.key")
            #expect(config.summary().contains("upstream client certificate: file \(directory)/client.crt, readable; "
                + "key file \(directory)/client.key, readable; re-read on change"))
            #expect(ConfigFixture.error(Self.head + "\n  client_cert_file: client.crt" + Self.secretToken, baseDirectory: directory)?.description
                == "proxy.conf: upstream.client_key_file: required key is missing (presents this certificate and key to the upstream)")
            #expect(ConfigFixture.error(Self.head + "\n  client_cert_file: client.key\n  client_key_file: client.key" + Self.secretToken,
                                        baseDirectory: directory)?.description
                == "proxy.conf:3: upstream.client_cert_file: \(directory)/client.key contains no PEM certificate")
            let http = "upstream:\n  url: http://api.example.com\n  insecure_http: true\n  client_cert_file: client.crt\n  client_key_file: client.key" + Self.secretToken
            #expect(ConfigFixture.error(http, baseDirectory: directory)?.description
                == "proxy.conf:4: upstream.client_cert_file: needs an https url: a client certificate is presented in the TLS handshake")
        }

        @Test("a route takes the keys too")
        func perRoute() throws {
            let directory = try Self.directory()
            let yaml = """
                routes:
                  - match: {path_prefix: /a/}
                    url: https://a.example
                    client_cert_file: client.crt
                    client_key_file: client.key
                  - match: {path_prefix: /b/}
                    url: https://b.example
                """ + Self.secretToken
            let config = try ConfigFixture.parse(yaml, baseDirectory: directory)
            #expect(config.routes[0].upstream.clientCertificateFile == directory + "/client.crt")
            #expect(config.routes[1].upstream.clientCertificateFile == nil)
        }

        @Test("check-config warns when tls_client_auth may bind tokens and the upstream presents no certificate, or another one")
        func bindingWarnings() throws {
            let directory = try Self.directory()
            let token = "\ntoken:\n  url: https://auth.example.com/t\n  client_id: my-app\n  auth_method: tls_client_auth\n"
                + "  client_cert_file: client.crt\n  client_key_file: client.key"
            let none = try ConfigFixture.parse(Self.head + token, baseDirectory: directory).summary()
            #expect(none.contains { $0.hasPrefix("WARNING: token authenticates with a client certificate (tls_client_auth) and upstream presents none") })
            let same = try ConfigFixture.parse(Self.head + "\n  client_cert_file: client.crt\n  client_key_file: client.key" + token,
                                               baseDirectory: directory).summary()
            #expect(!same.contains { $0.contains("RFC 8705") })
            let other = try ConfigFixture.parse(Self.head + "\n  client_cert_file: other.crt\n  client_key_file: other.key" + token,
                                                baseDirectory: directory).summary()
            #expect(other.contains { $0.hasPrefix("WARNING: upstream.client_cert_file is not the certificate token authenticates with") })
        }
    }
}
