/// application/x-www-form-urlencoded, as RFC 6749 Appendix B requires for token requests and
/// §2.3.1 for the client id and secret inside HTTP Basic credentials.
///
/// Only the RFC 3986 unreserved characters stay as they are; everything else, space included,
/// is percent-encoded as UTF-8. `%20` rather than `+` for space: every form decoder reads it,
/// while servers that decode Basic credentials with a plain percent-decoder would misread `+`.
enum FormEncoding {
    static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `name=value&name=value`, each part encoded.
    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }
}
