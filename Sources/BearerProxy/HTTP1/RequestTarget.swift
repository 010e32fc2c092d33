/// The four request-target forms of RFC 9112 §3.2, checked on bytes in place.
/// Which form is allowed depends on the method, so a target valid for one method is invalid for another.
enum RequestTarget {
    static func isValid(_ bytes: UnsafeRawBufferPointer, method: Range<Int>, target: Range<Int>) -> Bool {
        // Bytes were already checked by the scanner (no CTLs, SP, non-ASCII or "#"); this checks the shape.
        let first = bytes[target.lowerBound]

        // RFC 9112 §3.2.3: CONNECT uses authority-form and only it.
        if equals(bytes, method, "CONNECT") { return isAuthorityForm(bytes, target) }
        // RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ].
        if first == ASCII.slash { return true }
        // RFC 9112 §3.2.4: asterisk-form only for a server-wide OPTIONS.
        if target.count == 1, first == 0x2A /* * */ { return equals(bytes, method, "OPTIONS") }
        // RFC 9112 §3.2.2: absolute-form, which starts with a URI scheme.
        return hasScheme(bytes, target)
    }

    static func isPrefaceStart(_ bytes: UnsafeRawBufferPointer, method: Range<Int>, target: Range<Int>) -> Bool {
        equals(bytes, method, "PRI") && target.count == 1 && bytes[target.lowerBound] == 0x2A
    }

    /// authority-form = uri-host ":" port; host may be an IP literal with colons, so split at the last colon.
    private static func isAuthorityForm(_ bytes: UnsafeRawBufferPointer, _ target: Range<Int>) -> Bool {
        var colon: Int?
        for i in target {
            switch bytes[i] {
            case ASCII.slash, 0x3F /* ? */, 0x40 /* @ */: return false
            case ASCII.colon: colon = i
            default: break
            }
        }
        guard let colon, colon > target.lowerBound, colon + 1 < target.upperBound else { return false }
        for i in (colon + 1)..<target.upperBound where !ASCII.isDigit(bytes[i]) { return false }
        return true
    }

    /// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
    private static func hasScheme(_ bytes: UnsafeRawBufferPointer, _ target: Range<Int>) -> Bool {
        var i = target.lowerBound
        guard (bytes[i] | 0x20) &- 0x61 < 26 else { return false }
        i += 1
        while i < target.upperBound {
            let b = bytes[i]
            if b == ASCII.colon { return i + 1 < target.upperBound }
            let isSchemeByte = (b | 0x20) &- 0x61 < 26 || ASCII.isDigit(b) || b == 0x2B || b == 0x2D || b == ASCII.dot
            if !isSchemeByte { return false }
            i += 1
        }
        return false
    }

    /// Methods are case-sensitive (RFC 9110 §9.1), so this is an exact byte comparison.
    private static func equals(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { lit in
            var i = range.lowerBound
            for b in lit {
                if bytes[i] != b { return false }
                i += 1
            }
            return true
        }
    }
}
