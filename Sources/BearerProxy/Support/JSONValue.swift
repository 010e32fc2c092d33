/// A parsed JSON value (RFC 8259), for the few documents bearer-proxy reads: token endpoint
/// answers (RFC 6749 §5.1, §5.2), JWT headers and claims, and authorization server metadata.
/// `JSONValue.parse` reads them; nothing here is trusted beyond being well-formed JSON.
enum JSONValue: Equatable, Sendable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    var object: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// A JSON number; `true` and `false` are not numbers.
    var number: Double? {
        if case .number(let number) = self { return number }
        return nil
    }

    /// An array whose elements are all strings; nil when any element is not a string.
    var strings: [String]? {
        guard case .array(let elements) = self else { return nil }
        var texts: [String] = []
        for element in elements {
            guard let text = element.string else { return nil }
            texts.append(text)
        }
        return texts
    }

    /// Compact JSON text with object keys sorted, for showing an operator what was received.
    /// Slashes are not escaped; integral numbers below 2^53 are written without a fraction.
    var sortedText: String {
        switch self {
        case .object(let members):
            let body = members.keys.sorted().map { JSONText.string($0) + ":" + members[$0]!.sortedText }
            return "{" + body.joined(separator: ",") + "}"
        case .array(let elements):
            return "[" + elements.map(\.sortedText).joined(separator: ",") + "]"
        case .string(let text):
            return JSONText.string(text)
        case .number(let number):
            if number.rounded() == number, abs(number) < 9_007_199_254_740_992 {
                return String(Int64(number))
            }
            return String(describing: number)
        case .bool(let value):
            return value ? "true" : "false"
        case .null:
            return "null"
        }
    }
}
