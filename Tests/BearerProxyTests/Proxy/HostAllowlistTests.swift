@testable import BearerProxy
import Testing

@Suite("Host allowlist")
struct HostAllowlistTests {
    let hosts = HostAllowlist(extraNames: ["App.Internal"], port: 8080)

    func allows(_ host: String) -> Bool { hosts.allows(ArraySlice(host.utf8)) }

    @Test("local names and configured names, with or without the listen port, in any case", arguments: [
        "localhost", "LOCALHOST:8080", "127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8080", "app.internal:8080",
    ])
    func allowed(host: String) {
        #expect(allows(host))
    }

    @Test("other names, other ports, and ports that are not plain digits", arguments: [
        "evil.example", "localhost:8081", "localhost:", "localhost:+8080", "localhost:-0", "localhost: 8080",
        "localhost:0x1f90", "[::1]8080", "[::1", "", ":8080", "localhost:٨٠٨٠",
    ])
    func refused(host: String) {
        #expect(!allows(host))
    }
}
