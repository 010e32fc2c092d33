/// Byte classes and comparisons used by the parsers. Everything here is branch-light and
/// allocation-free: the hot path classifies bytes in place instead of building Strings.
enum ASCII {
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let comma: UInt8 = 0x2C
    static let dot: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let backslash: UInt8 = 0x5C
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let del: UInt8 = 0x7F

    // RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
    // "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. One bit per byte value 0..<64 and 64..<128;
    // literals (not computed) so they cost no lazy global initialisation. A test re-derives them.
    static let tcharMaskLow: UInt64 = 0x03FF_6CFA_0000_0000
    static let tcharMaskHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// Without branches (bit 6 picks the mask, bit 7 rules the byte out): field names mix bytes
    /// below and above 64 ("Content-Length"), which a branch on the range mispredicts.
    @inline(__always)
    static func isTchar(_ b: UInt8) -> Bool {
        let mask = b & 0x40 == 0 ? tcharMaskLow : tcharMaskHigh
        return (mask >> UInt64(b & 0x3F)) & UInt64(~b >> 7) != 0
    }

    /// RFC 9110 §5.6.3: OWS is SP / HTAB.
    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool { b == space || b == tab }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- zero < 10 }

    /// RFC 9110 §5.5: field-vchar / SP / HTAB, where field-vchar = VCHAR / obs-text.
    /// Everything else (NUL, CR, LF, other CTLs, DEL) is forbidden in a field value.
    @inline(__always)
    static func isFieldContent(_ b: UInt8) -> Bool { (b >= space && b != del) || b == tab }

    /// RFC 9112 §3.2: the request-target has no whitespace or controls; we also refuse
    /// non-ASCII (it must be percent-encoded, RFC 3986 §2.1).
    @inline(__always)
    static func isTargetByte(_ b: UInt8) -> Bool { b > space && b < del }

    /// Value of a hex digit, or nil (RFC 9110 §1.2 HEXDIG, case-insensitive).
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        if b &- zero < 10 { return b &- zero }
        let lower = b | 0x20
        if lower &- 0x61 < 6 { return lower &- 0x61 &+ 10 }
        return nil
    }

    @inline(__always)
    static func lowercased(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }
}

extension ASCII {
    /// Case-insensitive comparison of `bytes[range]` with a lowercase ASCII literal, without allocating.
    /// Lengths are compared first, so most non-matching names cost one comparison.
    @inline(__always)
    static func equalsLowercased(_ bytes: [UInt8], _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        guard literal.hasPointerRepresentation else {  // a one-character literal
            return literal.withUTF8Buffer { lit in zip(bytes[range], lit).allSatisfy { lowercased($0) == $1 } }
        }
        return bytes.withUnsafeBufferPointer { buffer in
            let lit = literal.utf8Start
            var i = 0
            var j = range.lowerBound
            while i < range.count {
                if lowercased(buffer[j]) != lit[i] { return false }
                i += 1
                j += 1
            }
            return true
        }
    }

    /// Trims OWS from both ends of `range` in `bytes` (RFC 9110 §5.6.1 list elements, §5.5 values).
    static func trimmingWhitespace(_ bytes: [UInt8], _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, isWhitespace(bytes[lower]) { lower += 1 }
        while upper > lower, isWhitespace(bytes[upper - 1]) { upper -= 1 }
        return lower..<upper
    }

    /// Calls `body` with each comma-separated element of `bytes[range]`, OWS trimmed, empty
    /// elements included (RFC 9110 §5.6.1: recipients accept and ignore empty elements; callers decide).
    /// Quoted strings are not special-cased: the lists we read (Connection, TE, Transfer-Encoding,
    /// Content-Length, Upgrade) carry tokens, and a quoted comma only yields an element that matches nothing.
    /// Stops early when `body` returns false.
    static func forEachListElement<E: Error>(
        _ bytes: [UInt8], _ range: Range<Int>, _ body: (Range<Int>) throws(E) -> Bool
    ) throws(E) {
        var start = range.lowerBound
        var i = start
        while i <= range.upperBound {
            if i == range.upperBound || bytes[i] == comma {
                if try !body(trimmingWhitespace(bytes, start..<i)) { return }
                start = i + 1
            }
            i += 1
        }
    }
}

extension Array where Element == UInt8 {
    /// A copy of a raw buffer: one allocation and one memcpy. `Array(_:)` is used rather than
    /// `init(unsafeUninitializedCapacity:)`, whose allocation goes through the standard library's
    /// unspecialised path and looks up the array's metadata at run time (~370 more instructions).
    init(copying bytes: UnsafeRawBufferPointer) {
        self.init(bytes)
    }
}
