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

    @Test("split: the name lowercased in ASCII only, the port as a number up to 65535")
    func split() throws {
        func split(_ host: String) -> (String, UInt16?)? { HostAllowlist.split(ArraySlice(host.utf8)) }
        #expect(try #require(split("LocalHost:08080")) == ("localhost", 8080))
        #expect(try #require(split("[::1]:80")) == ("::1", 80))
        #expect(try #require(split("App.Internal")) == ("app.internal", nil))
        #expect(try #require(split("h:65535")) == ("h", 65535))
        #expect(split("h:65536") == nil)
        #expect(split("h:99999999999999999999999") == nil)
        // U+212A KELVIN SIGN lowercases to "k" in Unicode; a Host is compared in ASCII, so it stays foreign.
        #expect(try #require(split("\u{212A}.example")).0 == "\u{212A}.example")
        #expect(!allows("\u{212A}ocalhost"))
    }

    @Test("a long allowed_hosts list answers as a short one: every name in it, in any case, and nothing else")
    func longList() {
        let names = (1...40).map { "Service-\($0).internal" }
        for count in [1, 13, 14, 40] {  // 3 local names + count: both sides of the 16 names searched in order
            let list = HostAllowlist(extraNames: Array(names.prefix(count)) + ["service-1.internal"], port: 8080)
            for (i, name) in names.enumerated() {
                #expect(list.allows(ArraySlice(name.uppercased().utf8)) == (i < count), "\(name) with \(count) names")
            }
            #expect(list.allows(ArraySlice("localhost:8080".utf8)))
            #expect(!list.allows(ArraySlice("service-0.internal".utf8)))
            #expect(list.contains(name: "::1"))
        }
    }
}
