import Foundation
import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("ProxyConfig loading")
    struct ProxyConfigLoadingTests {
        @Test("minimal config gets every default")
        func minimalDefaults() throws {
            let config = try ConfigFixture.parse(ConfigFixture.minimal)
            #expect(config.listen == HostPort(host: "127.0.0.1", port: 8080))
            #expect(config.workers == ProcessInfo.processInfo.activeProcessorCount)
            #expect(config.allowedHosts == [])
            #expect(config.upstream == UpstreamConfig(
                url: EndpointURL(scheme: "https", host: "api.example.com", port: 443, path: "")))
            #expect(config.upstream.connectTimeout == .seconds(5))
            #expect(config.upstream.responseTimeout == .seconds(60))
            #expect(config.upstream.poolMaxIdle == 256)
            #expect(config.upstream.poolIdleTimeout == .seconds(60))
            #expect(config.token.url == EndpointURL(scheme: "https", host: "auth.example.com", port: 443, path: "/oauth2/token"))
            #expect(config.token.clientID == "my-app")
            #expect(config.token.clientSecret == Secret("minimal-secret-value"))
            #expect(config.token.secretSource == .inline)
            #expect(config.token.scopes == [])
            #expect(config.token.authMethod == .clientSecretBasic)
            #expect(config.token.caFile == nil)
            #expect(!config.token.insecureSkipVerify)
            #expect(config.token.timeout == .seconds(10))
            #expect(config.token.refreshMargin == nil)
            #expect(config.token.defaultLifetime == .seconds(300))
            #expect(config.admin == AdminConfig(listen: HostPort(host: "127.0.0.1", port: 9901)))
            #expect(config.limits == LimitsConfig(maxRequestLine: 8192, maxHeaderBytes: 65536, maxHeaderCount: 100, maxBodySize: nil, maxConnections: 4096))
            #expect(config.timeouts == TimeoutsConfig(headerRead: .seconds(10), idle: .seconds(60), bodyRead: .seconds(60)))
            #expect(config.log == LogConfig(level: "info", format: .text))
            #expect(config.drainTimeout == .seconds(30))
        }

        @Test("full config sets every key")
        func fullConfig() throws {
            let directory = ConfigFixture.temporaryDirectory()
            ConfigFixture.write(ConfigFixture.pemCertificate, to: directory + "/ca.pem")
            ConfigFixture.write("from-file-secret\n", to: directory + "/client_secret")
            let yaml = """
                listen: "[::1]:18080"
                workers: 3
                allowed_hosts: [MyApp.local, other.local:8080]
                upstream:
                  url: https://api.example.com:8443/v2/
                  ca_file: ca.pem
                  insecure_http: false
                  insecure_skip_verify: true
                  connect_timeout: 2s
                  response_timeout: 1.5m
                  pool:
                    max_idle: 8
                    idle_timeout: 30s
                token:
                  url: https://auth.example.com/oauth2/token?tenant=t1
                  client_id: my-app
                  client_secret_file: client_secret
                  scopes: [urn:scope_1, urn:scope_2]
                  auth_method: client_secret_post
                  ca_file: \(directory)/ca.pem
                  insecure_http: false
                  insecure_skip_verify: false
                  timeout: 3s
                  refresh_margin: 0s
                  default_lifetime: 1h
                admin:
                  listen: 127.0.0.1:0
                limits:
                  max_request_line: 4096
                  max_header_bytes: 16384
                  max_header_count: 50
                timeouts:
                  header_read: 500ms
                  idle: 2m
                  body_read: 20s
                log:
                  level: debug
                  format: json
                drain_timeout: 0s
                """
            let config = try ConfigFixture.parse(yaml, baseDirectory: directory)
            let expected = ProxyConfig(
                listen: HostPort(host: "::1", port: 18080),
                workers: 3,
                allowedHosts: ["myapp.local", "other.local:8080"],
                upstream: UpstreamConfig(
                    url: EndpointURL(scheme: "https", host: "api.example.com", port: 8443, path: "/v2"),
                    caFile: directory + "/ca.pem",
                    insecureSkipVerify: true,
                    connectTimeout: .seconds(2),
                    responseTimeout: .seconds(90),
                    poolMaxIdle: 8,
                    poolIdleTimeout: .seconds(30)),
                token: TokenConfig(
                    url: EndpointURL(scheme: "https", host: "auth.example.com", port: 443, path: "/oauth2/token?tenant=t1"),
                    clientID: "my-app",
                    clientSecret: Secret("from-file-secret"),
                    secretSource: .file(directory + "/client_secret"),
                    scopes: ["urn:scope_1", "urn:scope_2"],
                    authMethod: .clientSecretPost,
                    caFile: directory + "/ca.pem",
                    insecureSkipVerify: false,
                    timeout: .seconds(3),
                    refreshMargin: .zero,
                    defaultLifetime: .seconds(3600)),
                admin: AdminConfig(listen: HostPort(host: "127.0.0.1", port: 0)),
                limits: LimitsConfig(maxRequestLine: 4096, maxHeaderBytes: 16384, maxHeaderCount: 50),
                timeouts: TimeoutsConfig(headerRead: .milliseconds(500), idle: .seconds(120), bodyRead: .seconds(20)),
                log: LogConfig(level: "debug", format: .json),
                drainTimeout: .zero)
            #expect(config == expected)
        }

        @Test("each required key is reported by name when missing", arguments: [
            ("upstream.url", "upstream:\n  connect_timeout: 5s\ntoken:\n  url: https://a.example/t\n  client_id: c\n  client_secret: s"),
            ("upstream.url", "token:\n  url: https://a.example/t\n  client_id: c\n  client_secret: s"),
            ("token.url", "upstream:\n  url: https://u.example\ntoken:\n  client_id: c\n  client_secret: s"),
            ("token.client_id", "upstream:\n  url: https://u.example\ntoken:\n  url: https://a.example/t\n  client_secret: s"),
            ("token.client_secret", "upstream:\n  url: https://u.example\ntoken:\n  url: https://a.example/t\n  client_id: c"),
        ])
        func requiredKeyMissing(key: String, yaml: String) throws {
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.key == key)
            #expect(error.line == nil)
            #expect(error.description.hasPrefix("proxy.conf: \(key): required key is missing"))
        }

        @Test("an empty file reports the first required key")
        func emptyFile() throws {
            let error = try #require(ConfigFixture.error(""))
            #expect(error.description == "proxy.conf: upstream.url: required key is missing")
        }

        @Test("a required key with no value is reported at its line")
        func requiredKeyNull() throws {
            let error = try #require(ConfigFixture.error("upstream:\n  url:\n"))
            #expect(error.description == "proxy.conf:2: upstream.url: a value is required")
        }

        @Test("loader rejects unknown top-level key with its line number and a suggestion")
        func unknownTopLevelKey() throws {
            let error = try #require(ConfigFixture.error("listen: 127.0.0.1:1\ntokn:\n  url: x\n"))
            #expect(error.description == "proxy.conf:2: tokn: unknown key (did you mean \"token\"?)")
        }

        @Test("loader rejects unknown nested key with its line number")
        func unknownNestedKey() throws {
            let yaml = ConfigFixture.minimal.replacingOccurrences(of: "  url: https://api.example.com", with: """
                  url: https://api.example.com
                  pool:
                    max_idel: 3
                """)
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.description == "proxy.conf:4: upstream.pool.max_idel: unknown key (did you mean \"max_idle\"?)")
        }

        @Test("unknown key far from any known key gets no suggestion")
        func unknownKeyWithoutSuggestion() throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: "banana: 1")))
            #expect(error.description == "proxy.conf:7: banana: unknown key")
        }

        @Test("wrong types name the key, the line and what was found", arguments: [
            ("workers: many", "proxy.conf:7: workers: must be a whole number, found a string"),
            ("workers: \"4\"", "proxy.conf:7: workers: must be a whole number, found a quoted string"),
            ("workers: -1", "proxy.conf:7: workers: must be from 0 to 1024, found -1"),
            ("allowed_hosts: myapp.local", "proxy.conf:7: allowed_hosts: must be a list such as [a, b], found a string"),
            ("allowed_hosts: [[a]]", "proxy.conf:7: allowed_hosts[0]: must be a non-empty string, found a list"),
            ("log: info", "proxy.conf:7: log: must be a mapping of keys, found a string"),
            ("log:\n  level: verbose", "proxy.conf:8: log.level: must be one of trace, debug, info, notice, warning, error, critical"),
            ("log:\n  format: jsn", "proxy.conf:8: log.format: must be text or json (did you mean \"json\"?)"),
            ("limits:\n  max_header_count: 0", "proxy.conf:8: limits.max_header_count: must be at least 1, found 0"),
            ("admin:\n  enabled: yes", "proxy.conf:8: admin.enabled: must be true or false, found a string"),
            ("drain_timeout: 30", "proxy.conf:7: drain_timeout: \"30\" has no unit; write e.g. \"30s\" or \"500ms\"; units: ms, s, m, h"),
            ("timeouts:\n  idle: 0s", "proxy.conf:8: timeouts.idle: must be longer than 0s"),
            ("timeouts:\n  idle: [1s]", "proxy.conf:8: timeouts.idle: must be a string, found a list"),
            ("listen: 8080", "proxy.conf:7: listen: \"8080\" has no port; write host:port, e.g. 127.0.0.1:8080"),
        ])
        func wrongTypes(extra: String, description: String) throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: extra)))
            #expect(error.description == description)
        }

        @Test("auth_method accepts the secret methods and suggests the closest for a typo")
        func authMethod() throws {
            let post = ConfigFixture.minimal.replacingOccurrences(
                of: "  client_id: my-app", with: "  client_id: my-app\n  auth_method: client_secret_post")
            #expect(try ConfigFixture.parse(post).token.authMethod == .clientSecretPost)
            let typo = post.replacingOccurrences(of: "client_secret_post", with: "client_secret_basik")
            let error = try #require(ConfigFixture.error(typo))
            #expect(error.description == "proxy.conf:6: token.auth_method: must be one of client_secret_basic, client_secret_post, "
                + "client_secret_jwt, private_key_jwt, tls_client_auth, federated_jwt (did you mean \"client_secret_basic\"?)")
        }

        @Test("http upstream is rejected without insecure_http (the token would travel in clear)")
        func httpUpstreamRejected() throws {
            let yaml = ConfigFixture.minimal.replacingOccurrences(of: "https://api.example.com", with: "http://api.example.com")
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.description == "proxy.conf:2: upstream.url: must use https (set upstream.insecure_http: true to allow http)")
        }

        @Test("http upstream is accepted with insecure_http: true")
        func httpUpstreamAllowed() throws {
            let yaml = ConfigFixture.minimal.replacingOccurrences(
                of: "  url: https://api.example.com", with: "  url: http://api.example.com:8080/v1\n  insecure_http: true")
            let url = try ConfigFixture.parse(yaml).upstream.url
            #expect(url == EndpointURL(scheme: "http", host: "api.example.com", port: 8080, path: "/v1"))
            #expect(url.authority == "api.example.com:8080")
        }

        @Test("http token url needs insecure_http in the token section, not the upstream one")
        func httpTokenURL() throws {
            let http = ConfigFixture.minimal.replacingOccurrences(of: "https://auth", with: "http://auth")
            let rejected = http.replacingOccurrences(of: "  url: https://api.example.com", with: "  url: https://api.example.com\n  insecure_http: true")
            let error = try #require(ConfigFixture.error(rejected))
            #expect(error.description == "proxy.conf:5: token.url: must use https (set token.insecure_http: true to allow http)")
            let allowed = http + "\n  insecure_http: true"
            #expect(try ConfigFixture.parse(allowed).token.url?.scheme == "http")
        }

        @Test("listen accepts an IPv6 address in brackets")
        func ipv6Listen() throws {
            let config = try ConfigFixture.parse(ConfigFixture.minimal(plus: "listen: \"[::1]:8080\""))
            #expect(config.listen == HostPort(host: "::1", port: 8080))
        }

        @Test("listen rejects a port out of range")
        func badPort() throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: "listen: 127.0.0.1:70000")))
            #expect(error.line == 7)
            #expect(error.key == "listen")
            #expect(error.message.contains("0 to 65535"))
        }

        @Test("bad URLs are reported at their line without echoing the URL")
        func badURL() throws {
            let yaml = ConfigFixture.minimal.replacingOccurrences(of: "https://api.example.com", with: "https://user:pw-QQ@api.example.com")
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.description == "proxy.conf:2: upstream.url: must not contain a user name or password")
            #expect(!error.description.contains("pw-QQ"))
        }

        @Test("admin is disabled by enabled: false and moved by listen")
        func admin() throws {
            #expect(try ConfigFixture.parse(ConfigFixture.minimal(plus: "admin: {enabled: false}")).admin == nil)
            let moved = try ConfigFixture.parse(ConfigFixture.minimal(plus: "admin:\n  listen: \"[::1]:9999\""))
            #expect(moved.admin == AdminConfig(listen: HostPort(host: "::1", port: 9999)))
            #expect(try ConfigFixture.parse(ConfigFixture.minimal(plus: "admin:")).admin == AdminConfig())
        }

        @Test("admin listen must differ from listen")
        func adminClash() throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: "listen: 127.0.0.1:9901")))
            #expect(error.key == "admin.listen")
        }

        @Test("max_request_line may not exceed max_header_bytes, which includes it")
        func requestLineWithinHead() throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: "limits:\n  max_request_line: 70000")))
            #expect(error.key == "limits.max_request_line")
            #expect(error.line == 8)
        }

        @Test("scopes must be RFC 6749 §3.3 scope tokens")
        func scopeTokens() throws {
            let yaml = ConfigFixture.minimal + "\n  scopes: [\"read write\"]"
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.key == "token.scopes[0]")
        }

        @Test("duplicate keys are an error with their line")
        func duplicateKey() throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: "workers: 1\nworkers: 2")))
            #expect(error.message == "duplicate key")
            #expect(error.key == "workers")
            #expect(error.line != nil)
        }

        @Test("invalid YAML is reported with a line")
        func invalidYAML() throws {
            let error = try #require(ConfigFixture.error("upstream:\n  url: [unclosed\n"))
            #expect(error.message.hasPrefix("invalid YAML"))
            #expect(error.line != nil)
        }

        @Test("a tab in the indentation gets a hint")
        func tabIndentation() throws {
            let error = try #require(ConfigFixture.error("upstream:\n\turl: https://api.example.com\n"))
            #expect(error.line == 2)
            #expect(error.message.hasSuffix("indent with spaces, not tabs"))
        }

        @Test("a top level that is not a mapping is rejected")
        func topLevelScalar() throws {
            let error = try #require(ConfigFixture.error("just text"))
            #expect(error.description == "proxy.conf:1: must be a mapping of keys, found a string")
        }

        @Test("ca_file must exist and hold a PEM certificate; relative paths use the config directory")
        func caFile() throws {
            let directory = ConfigFixture.temporaryDirectory()
            let withCA = ConfigFixture.minimal.replacingOccurrences(
                of: "  url: https://api.example.com", with: "  url: https://api.example.com\n  ca_file: ca.pem")
            let missing = try #require(ConfigFixture.error(withCA, baseDirectory: directory))
            #expect(missing.description == "proxy.conf:3: upstream.ca_file: cannot read \(directory)/ca.pem: No such file or directory")
            ConfigFixture.write("not a certificate", to: directory + "/ca.pem")
            let notPEM = try #require(ConfigFixture.error(withCA, baseDirectory: directory))
            #expect(notPEM.key == "upstream.ca_file")
            ConfigFixture.write(ConfigFixture.pemCertificate, to: directory + "/ca.pem")
            #expect(try ConfigFixture.parse(withCA, baseDirectory: directory).upstream.caFile == directory + "/ca.pem")
        }

        @Test("load reads a file and names it in errors")
        func loadFromFile() throws {
            let directory = ConfigFixture.temporaryDirectory()
            let path = directory + "/proxy.conf"
            ConfigFixture.write(ConfigFixture.minimal(plus: "workers: x"), to: path)
            #expect(throws: ConfigError(source: path, line: 7, key: "workers", message: "must be a whole number, found a string")) {
                try ProxyConfig.load(path: path, environment: [:])
            }
            #expect(throws: ConfigError.self) { try ProxyConfig.load(path: directory + "/absent.conf", environment: [:]) }
        }
    }
}
