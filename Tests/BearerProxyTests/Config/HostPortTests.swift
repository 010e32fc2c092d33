import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("HostPort")
    struct HostPortTests {
        @Test("parses IPv4, IPv6 in brackets, names and port 0", arguments: [
            ("127.0.0.1:8080", HostPort(host: "127.0.0.1", port: 8080)),
            ("[::1]:8080", HostPort(host: "::1", port: 8080)),
            ("[fe80::1:2]:443", HostPort(host: "fe80::1:2", port: 443)),
            ("localhost:8080", HostPort(host: "localhost", port: 8080)),
            ("0.0.0.0:80", HostPort(host: "0.0.0.0", port: 80)),
            ("127.0.0.1:0", HostPort(host: "127.0.0.1", port: 0)),
            ("127.0.0.1:65535", HostPort(host: "127.0.0.1", port: 65535)),
        ])
        func parsesValid(text: String, expected: HostPort) throws {
            #expect(try HostPort.parse(text) == expected)
        }

        @Test("rejects missing or out-of-range ports, bare IPv6 and bad hosts", arguments: [
            "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x", ":8080",
            "::1:8080", "[::1]", "[::1]8080", "[::1:8080", "[not-v6]:80", "999.0.0.1:80", "1.2.3:80",
            "bad host:80", "a..b:80",
        ])
        func rejectsInvalid(text: String) {
            #expect(throws: InvalidValue.self) { try HostPort.parse(text) }
        }

        @Test("description brackets IPv6 so it parses back")
        func descriptionRoundTrips() throws {
            #expect(HostPort(host: "::1", port: 8080).description == "[::1]:8080")
            #expect(HostPort(host: "127.0.0.1", port: 80).description == "127.0.0.1:80")
            #expect(try HostPort.parse("[::1]:8080").description == "[::1]:8080")
        }

        @Test("loopback covers localhost, 127/8 and ::1 only")
        func loopback() {
            #expect(HostPort(host: "localhost", port: 1).isLoopback)
            #expect(HostPort(host: "127.1.2.3", port: 1).isLoopback)
            #expect(HostPort(host: "::1", port: 1).isLoopback)
            #expect(!HostPort(host: "0.0.0.0", port: 1).isLoopback)
            #expect(!HostPort(host: "127.example.com", port: 1).isLoopback)
        }
    }
}
