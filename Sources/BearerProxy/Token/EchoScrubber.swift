#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Removes what a token request carried from text the token endpoint sent back.
///
/// Some authorization servers copy what they were sent into `error_description` ("invalid client
/// secret 's3cr%t'", the Basic header, the assertion). That text goes to the log, to `/readyz` and
/// into the 503 body local callers receive, so every form of the credentials this request sent is
/// replaced before the text goes anywhere: the secret as it is, form-encoded (either hex case),
/// in Base64 and base64url, the Basic `id:secret` pair and its Base64, and the client assertion.
struct EchoScrubber: Sendable {
    /// Longest first, so that a longer form containing a shorter one is replaced whole.
    private let needles: [String]

    static let none = EchoScrubber(needles: [])
    static let replacement = "[redacted]"

    init(needles: [String]) {
        self.needles = Set(needles.filter { !$0.isEmpty }).sorted { $0.utf8.count > $1.utf8.count }
    }

    /// Every form in which `secret` may come back.
    static func forms(ofSecret secret: String) -> [String] {
        let encoded = FormEncoding.encode(secret)
        let base64 = Data(secret.utf8).base64EncodedString()
        return [secret, encoded, encoded.lowercasedPercentEscapes, encoded.replacing("%20", with: "+"),
                base64, base64.trimmingEquals, Base64URL.encode(Array(secret.utf8))]
    }

    /// The Basic credentials as sent (`pair` is `id:secret`, encoded as configured) and in Base64.
    static func forms(ofBasicPair pair: String) -> [String] {
        let base64 = Data(pair.utf8).base64EncodedString()
        return [pair, base64, base64.trimmingEquals]
    }

    /// A client assertion, and its signature on its own (what makes a copy of it usable).
    static func forms(ofAssertion assertion: String) -> [String] {
        [assertion] + (assertion.split(separator: ".").last.map { [String($0)] } ?? [])
    }

    func adding(_ more: [String]) -> EchoScrubber {
        EchoScrubber(needles: needles + more)
    }

    func scrub(_ text: String) -> String {
        guard !needles.isEmpty else { return text }
        var text = text
        for needle in needles where text.contains(needle) {
            text = text.replacing(needle, with: Self.replacement)
        }
        return text
    }
}

private extension String {
    /// Base64 without its padding, as some servers print it.
    var trimmingEquals: String {
        var text = self
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// `%2B` → `%2b`: a server may echo the form-encoded secret with lower-case hex.
    var lowercasedPercentEscapes: String {
        var bytes = Array(utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count {
                bytes[i + 1] = asciiLowercased(bytes[i + 1])
                bytes[i + 2] = asciiLowercased(bytes[i + 2])
                i += 3
            } else {
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
