@testable import BearerProxy
import Testing

@Suite("String trimmingWhitespace")
struct StringWhitespaceTests {
    @Test("Unicode white space and line ends go from both ends, nothing from the middle")
    func trims() {
        #expect(" \t secret value \r\n".trimmingWhitespace() == "secret value")
        #expect("\u{a0}\u{2003}x\u{2028}\u{85}\u{b}\u{c}\u{3000}".trimmingWhitespace() == "x")
        #expect("\n\n".trimmingWhitespace() == "")
        #expect("".trimmingWhitespace() == "")
        // Not white space: zero-width space and BOM stay, as with Foundation's whitespacesAndNewlines.
        #expect("\u{200b}x\u{feff}".trimmingWhitespace() == "\u{200b}x\u{feff}")
    }
}
