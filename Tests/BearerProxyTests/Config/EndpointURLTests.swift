import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("EndpointURL")
    struct EndpointURLTests {
        @Test("authority omits the scheme's default port and keeps others (RFC 9110 §7.2)")
        func authorityPorts() throws {
            #expect(try EndpointURL.parse("https://api.example.com", role: .basePath).authority == "api.example.com")
            #expect(try EndpointURL.parse("https://api.example.com:443", role: .basePath).authority == "api.example.com")
            #expect(try EndpointURL.parse("https://api.example.com:8443", role: .basePath).authority == "api.example.com:8443")
            #expect(try EndpointURL.parse("http://api.example.com:80", role: .basePath).authority == "api.example.com")
            #expect(try EndpointURL.parse("http://api.example.com:443", role: .basePath).authority == "api.example.com:443")
        }

        @Test("default ports are 443 for https and 80 for http")
        func defaultPorts() throws {
            let https = try EndpointURL.parse("https://a.example", role: .endpoint)
            let http = try EndpointURL.parse("http://a.example", role: .endpoint)
            #expect(https.port == 443 && https.isTLS)
            #expect(http.port == 80 && !http.isTLS)
        }

        @Test("IPv6 host is stored bare and bracketed in the authority (RFC 3986 §3.2.2)")
        func ipv6() throws {
            let url = try EndpointURL.parse("https://[2001:db8::1]:8443/x", role: .endpoint)
            #expect(url.host == "2001:db8::1")
            #expect(url.port == 8443)
            #expect(url.authority == "[2001:db8::1]:8443")
            #expect(try EndpointURL.parse("https://[::1]", role: .endpoint).authority == "[::1]")
        }

        @Test("scheme and host are lowercased, path is kept as written")
        func normalizesCase() throws {
            let url = try EndpointURL.parse("HTTPS://API.Example.COM/V2/Items", role: .basePath)
            #expect(url.scheme == "https")
            #expect(url.host == "api.example.com")
            #expect(url.path == "/V2/Items")
        }

        @Test("upstream base path drops trailing slashes and is empty when absent", arguments: [
            ("https://api.example.com", ""),
            ("https://api.example.com/", ""),
            ("https://api.example.com/v2", "/v2"),
            ("https://api.example.com/v2/", "/v2"),
            ("https://api.example.com/v2//", "/v2"),
            ("https://api.example.com/a/b", "/a/b"),
        ])
        func upstreamBasePath(text: String, path: String) throws {
            #expect(try EndpointURL.parse(text, role: .basePath).path == path)
        }

        @Test("upstream base path rejects a query")
        func upstreamRejectsQuery() {
            #expect(throws: InvalidValue.self) { try EndpointURL.parse("https://api.example.com/v2?x=1", role: .basePath) }
        }

        @Test("token endpoint keeps path and query, defaulting to /", arguments: [
            ("https://auth.example.com/oauth2/token", "/oauth2/token"),
            ("https://auth.example.com", "/"),
            ("https://auth.example.com/", "/"),
            ("https://auth.example.com?tenant=a", "/?tenant=a"),
            ("https://auth.example.com/token?tenant=a", "/token?tenant=a"),
        ])
        func tokenPath(text: String, path: String) throws {
            #expect(try EndpointURL.parse(text, role: .endpoint).path == path)
        }

        @Test("description is the normalized URL")
        func description() throws {
            #expect(try EndpointURL.parse("https://api.example.com:443/v2/", role: .basePath).description
                == "https://api.example.com/v2")
            #expect(try EndpointURL.parse("http://[::1]:8080", role: .endpoint).description == "http://[::1]:8080/")
        }

        @Test("rejects malformed URLs", arguments: [
            "api.example.com", "ftp://api.example.com", "https://", "https://:443", "https://host:0",
            "https://host:65536", "https://host:", "https://host:x", "https://[::1", "https://[nope]/",
            "https://host/a b", "https://host/#frag", "https://bad_host!/", "https://host:1:2",
        ])
        func rejectsInvalid(text: String) {
            #expect(throws: InvalidValue.self) { try EndpointURL.parse(text, role: .endpoint) }
        }

        @Test("rejects credentials in the URL without echoing them")
        func rejectsUserInfo() {
            #expect(throws: InvalidValue("must not contain a user name or password")) {
                try EndpointURL.parse("https://user:hunter2@api.example.com", role: .basePath)
            }
        }
    }
}
