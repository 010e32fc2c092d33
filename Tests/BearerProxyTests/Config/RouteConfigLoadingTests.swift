@testable import BearerProxy
import Foundation
import Testing

extension ConfigTests {
    @Suite("Routes and token profiles (routes:, tokens:)")
    struct RouteConfigLoadingTests {
        static let twoProfiles = """
            tokens:
              payments:
                url: https://auth.example.com/oauth2/token
                client_id: legacy-app
                client_secret: payments-secret-value
                scopes: [payments.read]
              crm:
                url: https://login.crm.example.com/oauth2/token
                client_id: legacy-crm
                client_secret: crm-secret-value
            routes:
              - match: {path_prefix: /payments/}
                url: https://api.payments.example/v2
                token: payments
                strip_prefix: true
              - name: crm
                match: {host: CRM.example.com}
                url: https://crm.example.com
                token: crm
                response_timeout: 90s
            """

        @Test("the issue's example loads: profiles and routes in file order, each route with its keys")
        func twoProfilesLoad() throws {
            let config = try ConfigFixture.parse(Self.twoProfiles)
            #expect(config.usesRoutes)
            #expect(config.tokenProfiles.map(\.name) == ["payments", "crm"])
            #expect(config.profile(named: "payments")?.scopes == ["payments.read"])
            #expect(config.profile(named: "crm")?.clientID == "legacy-crm")
            #expect(config.routes.count == 2)
            let payments = config.routes[0]
            #expect(payments.match == RouteMatch(pathPrefix: "/payments/"))
            #expect(payments.upstream.url.path == "/v2")
            #expect(payments.token == "payments" && payments.stripPrefix && payments.label == "0" && payments.line == 12)
            let crm = config.routes[1]
            #expect(crm.match == RouteMatch(host: "crm.example.com"))  // lowercased
            #expect(crm.label == "crm" && crm.token == "crm" && !crm.stripPrefix)
            #expect(crm.upstream.responseTimeout == .seconds(90))
        }

        @Test("the one-route form is one route taking every request with the profile `default`")
        func oneRouteForm() throws {
            let config = try ConfigFixture.parse(ConfigFixture.minimal)
            #expect(!config.usesRoutes)
            #expect(config.routes.count == 1 && config.routes[0].match == RouteMatch() && config.routes[0].token == "default")
            #expect(config.tokenProfiles.map(\.name) == ["default"])
            #expect(config.upstream.url.host == "api.example.com")
        }

        @Test("routes: with a single token: uses it without naming it")
        func routesWithOneToken() throws {
            let yaml = """
                token:
                  url: https://auth.example.com/oauth2/token
                  client_id: my-app
                  client_secret: s
                routes:
                  - match: {path_prefix: /a}
                    url: https://a.example.com
                  - url: https://b.example.com
                """
            let config = try ConfigFixture.parse(yaml)
            #expect(config.routes.map(\.token) == ["default", "default"])
            #expect(config.routes[1].match == RouteMatch())
        }

        @Test("the commented routes example in proxy.conf.example loads when uncommented")
        func exampleRoutesLoad() throws {
            let example = try String(contentsOfFile: ProxyConfigExampleTests.examplePath, encoding: .utf8)
            let lines = example.split(separator: "\n", omittingEmptySubsequences: false)
            guard let start = lines.firstIndex(of: "# tokens:"), let end = lines[start...].firstIndex(of: "#") else {
                Issue.record("proxy.conf.example has no commented tokens:/routes: block")
                return
            }
            let block = lines[start..<end].map { String($0.dropFirst(2)) }.joined(separator: "\n")
            let directory = ConfigFixture.temporaryDirectory()
            let yaml = block
                .replacingOccurrences(of: "/run/secrets/payments", with: directory + "/payments")
                .replacingOccurrences(of: "private_key_jwt\n    private_key_file: /run/secrets/crm.key",
                                      with: "client_secret_post\n    client_secret: crm-value")
            ConfigFixture.write("payments-value\n", to: directory + "/payments")
            let config = try ConfigFixture.parse(yaml)
            #expect(config.routes.map(\.token) == ["payments", "crm"])
            #expect(config.routes[0].label == "payments" && config.routes[0].stripPrefix)
            #expect(config.routes[1].match.host == "crm.example.com")
        }

        @Test("two routes that take the same requests are refused, naming both lines; the order in the file does not matter", arguments: [
            ("{path_prefix: /a/}", "{path_prefix: /a}"),
            ("{host: h.example}", "{host: h.example:80}"),
            ("{host: h.example, path_prefix: /x}", "{host: H.EXAMPLE, path_prefix: /x/}"),
            ("{}", "{path_prefix: /}"),
        ])
        func overlapRefused(first: String, second: String) throws {
            for (a, b) in [(first, second), (second, first)] {
                let yaml = """
                    token: {url: https://auth.example.com/t, client_id: c, client_secret: s}
                    routes:
                      - match: \(a)
                        url: https://a.example.com
                      - match: \(b)
                        url: https://b.example.com
                    """
                let error = try #require(ConfigFixture.error(yaml))
                #expect(error.line == 5 && error.key == "routes[1].match", "\(error)")
                #expect(error.message.contains("line 3"), "\(error)")
            }
        }

        @Test("routes that differ by host, port or prefix load", arguments: [
            ("{path_prefix: /a}", "{path_prefix: /ab}"),
            ("{host: h.example}", "{host: h.example:8443}"),
            ("{host: h.example}", "{}"),
            ("{host: h.example, path_prefix: /x}", "{path_prefix: /x}"),
        ])
        func distinctRoutesLoad(first: String, second: String) throws {
            let yaml = """
                token: {url: https://auth.example.com/t, client_id: c, client_secret: s}
                routes:
                  - match: \(first)
                    url: https://a.example.com
                  - match: \(second)
                    url: https://b.example.com
                """
            #expect(ConfigFixture.error(yaml) == nil)
        }

        @Test("mistakes are refused with the key and a clear reason", arguments: [
            ("tokens:\n  a: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nupstream: {url: https://x.example}",
             "tokens", "need routes:"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nupstream: {url: https://x.example}\nroutes:\n  - url: https://y.example",
             "upstream", "not both"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\ntokens:\n  a: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - url: https://y.example",
             "token", "not both"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes: []",
             "routes", "non-empty list"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - url: https://y.example\n    strip_prefix: true",
             "routes[0].strip_prefix", "path_prefix"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - url: https://y.example\n    match: {path_prefix: payments}",
             "routes[0].match.path_prefix", "start with"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - url: https://y.example\n    match: {path_prefix: /a/../b}",
             "routes[0].match.path_prefix", "segments"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - url: https://y.example\n    match: {host: https://crm.example.com}",
             "routes[0].match.host", "not a host name"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - url: https://y.example\n    match: {host: crm.example.com:x}",
             "routes[0].match.host", "port"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - url: https://y.example\n    match: {method: GET}",
             "routes[0].match.method", "unknown key"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - url: https://y.example\n    token: payments",
             "routes[0].token", "no token profile named \"payments\""),
            ("tokens:\n  a: {url: https://auth.example.com/t, client_id: c, client_secret: s}\n  b: {url: https://auth.example.com/t, client_id: d, client_secret: s}\nroutes:\n  - url: https://y.example",
             "routes[0].token", "which of a, b"),
            ("tokens:\n  a: {url: https://auth.example.com/t, client_id: c, client_secret: s}\n  b: {url: https://auth.example.com/t, client_id: d, client_secret: s}\nroutes:\n  - url: https://y.example\n    token: a",
             "tokens.b", "no route uses"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - {url: https://y.example, name: x, match: {path_prefix: /a}}\n  - {url: https://z.example, name: x}",
             "routes[x].name", "already the name"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - url: http://y.example",
             "routes[0].url", "must use https"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - {url: https://y.example, name: none}",
             "routes[0].name", "reserved"),
            ("token: {url: https://auth.example.com/t, client_id: c, client_secret: s}\nroutes:\n  - {url: https://y.example, name: \"1\"}",
             "routes[0].name", "reserved"),
            ("tokens:\n  crm-eu: {url: https://auth.example.com/t, client_id: c, client_secret: s}\n  crm.eu: {url: https://auth.example.com/t, client_id: d, client_secret: s}\nroutes:\n  - {url: https://y.example, token: crm-eu}\n  - {url: https://z.example, token: crm.eu, match: {path_prefix: /z}}",
             "tokens.crm.eu", "BEARER_PROXY_CLIENT_SECRET_CRM_EU"),
        ])
        func mistakes(yaml: String, key: String, message: String) throws {
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.key == key, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }

        @Test("a profile without a secret in the file takes it from BEARER_PROXY_CLIENT_SECRET_<NAME>, never from another profile's")
        func secretFromProfileVariable() throws {
            let yaml = """
                tokens:
                  crm-eu: {url: https://auth.example.com/t, client_id: c}
                routes:
                  - url: https://y.example
                """
            let config = try ConfigFixture.parse(yaml, environment: ["BEARER_PROXY_CLIENT_SECRET_CRM_EU": "eu-secret"])
            #expect(config.profile(named: "crm-eu")?.clientSecret?.value == "eu-secret")
            let error = try #require(ConfigFixture.error(yaml, environment: ["BEARER_PROXY_CLIENT_SECRET": "shared"]))
            #expect(error.key == "tokens.crm-eu.client_secret" && error.message.contains("BEARER_PROXY_CLIENT_SECRET_CRM_EU"), "\(error)")
        }
    }
}
