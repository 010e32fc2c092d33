/// Writes the small JSON texts bearer-proxy produces (JWT header and claims, error bodies, admin
/// answers, JSON log lines) with a fixed key order, so the bytes are reproducible and can be
/// pinned by golden tests.
enum JSONText {
    enum Value {
        case string(String)
        case integer(Int64)
    }

    static func object(_ members: [(String, Value)]) -> String {
        let body = members.map { name, value in
            switch value {
            case .string(let text): return string(name) + ":" + string(text)
            case .integer(let number): return string(name) + ":" + String(number)
            }
        }
        return "{" + body.joined(separator: ",") + "}"
    }

    /// A JSON string literal, quotes included.
    static func string(_ text: String) -> String {
        "\"" + escaped(text) + "\""
    }

    /// RFC 8259 §7: quote, backslash and control characters are escaped; the rest is UTF-8 as is.
    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
