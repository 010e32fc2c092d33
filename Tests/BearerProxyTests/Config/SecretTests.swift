import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("Secret")
    struct SecretTests {
        let secret = Secret("tops3cret-XYZZY")

        @Test("interpolation, describing, reflecting and dump are all redacted")
        func redactedEverywhere() {
            var dumped = ""
            dump(secret, to: &dumped)
            let renderings = ["\(secret)", String(describing: secret), String(reflecting: secret), dumped]
            for text in renderings {
                #expect(!text.contains("XYZZY"), "leaked in \(text)")
                #expect(text.contains("<redacted>"))
            }
        }

        @Test("the value stays available to the code that sends it")
        func valueIsKept() {
            #expect(secret.value == "tops3cret-XYZZY")
        }

        @Test("a config holding the secret does not show it when printed or dumped")
        func redactedInsideConfig() throws {
            let config = try ConfigFixture.parse(ConfigFixture.minimal.replacingOccurrences(
                of: "minimal-secret-value", with: "tops3cret-XYZZY"))
            var dumped = ""
            dump(config, to: &dumped)
            for text in [String(describing: config), String(reflecting: config), "\(config.token)", dumped] {
                #expect(!text.contains("XYZZY"))
            }
        }
    }
}
