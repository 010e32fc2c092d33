extension Unicode.Scalar {
    /// Unicode's control characters (C0, DEL and C1: NEL, U+0085, breaks lines in some viewers)
    /// and the line and paragraph separators U+2028/U+2029: what must never reach a log line or
    /// a header as it is. Compared by value, as this runs on every character of every log line.
    var isLineBreakingOrControl: Bool {
        let value = self.value
        return value < 0x20 || (value >= 0x7F && value < 0xA0) || value == 0x2028 || value == 0x2029
    }
}

extension String {
    /// The text without Unicode White_Space at either end: the set Foundation calls
    /// `whitespacesAndNewlines` (Zs, tab, U+000A–U+000D, U+0085, U+2028, U+2029), checked per scalar.
    func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
