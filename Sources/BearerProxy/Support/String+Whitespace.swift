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
