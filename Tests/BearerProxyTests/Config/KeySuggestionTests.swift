import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("KeySuggestion")
    struct KeySuggestionTests {
        let topLevel = ProxyConfig.topLevelKeys

        @Test("suggests the key one or two edits away", arguments: [
            ("tokn", "token"),
            ("upstram", "upstream"),
            ("allowed-hosts", "allowed_hosts"),
            ("Listen", "listen"),
            ("drain_timout", "drain_timeout"),
            ("wrokers", "workers"),
        ])
        func suggests(typo: String, expected: String) {
            #expect(KeySuggestion.closest(to: typo, among: topLevel) == expected)
        }

        @Test("suggests nothing for unrelated or very short words", arguments: ["banana", "x", "ab", "timeouts_extra_long"])
        func noSuggestion(word: String) {
            #expect(KeySuggestion.closest(to: word, among: topLevel) == nil)
        }

        @Test("counts a swap of neighbours as one edit")
        func transposition() {
            #expect(KeySuggestion.editDistance(Array("secert"), Array("secret")) == 1)
            #expect(KeySuggestion.editDistance(Array(""), Array("abc")) == 3)
            #expect(KeySuggestion.editDistance(Array("kitten"), Array("sitting")) == 3)
        }
    }
}
