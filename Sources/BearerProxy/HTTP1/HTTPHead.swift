/// What request and response heads share: the received bytes and the field lines pointing into them.
/// Lookups compare bytes in place; only the `String` helpers (for logs and tests) allocate.
protocol HTTPHead: Sendable {
    /// The head exactly as received, from the first byte of the start line through the final CRLF CRLF.
    var raw: [UInt8] { get }
    /// Field lines in received order, duplicates kept (RFC 9110 §5.3: order of same-name lines matters).
    var fields: [HTTPField] { get }
}

extension HTTPHead {
    func name(_ field: HTTPField) -> ArraySlice<UInt8> { raw[field.name] }

    func value(_ field: HTTPField) -> ArraySlice<UInt8> { raw[field.value] }

    /// Case-insensitive name match (RFC 9110 §5.1). `lowercasedASCII` must be lowercase.
    func fieldNameIs(_ field: HTTPField, _ lowercasedASCII: StaticString) -> Bool {
        ASCII.equalsLowercased(raw, field.name, lowercasedASCII)
    }

    /// Value of the first field named `lowercasedName` (lowercase ASCII), OWS already trimmed.
    func firstValue(named lowercasedName: StaticString) -> ArraySlice<UInt8>? {
        for field in fields where fieldNameIs(field, lowercasedName) {
            return raw[field.value]
        }
        return nil
    }

    func count(named lowercasedName: StaticString) -> Int {
        var n = 0
        for field in fields where fieldNameIs(field, lowercasedName) { n += 1 }
        return n
    }

    /// True when any element of the comma-separated lists in the fields named `inFieldsNamed`
    /// equals `token`, case-insensitively (RFC 9110 §5.6.1, §7.6.1 Connection options are
    /// case-insensitive). Parameters after `;` are ignored, so `TE: trailers;q=1` has `trailers`.
    /// Both literals must be lowercase ASCII.
    func hasToken(_ token: StaticString, inFieldsNamed lowercasedName: StaticString) -> Bool {
        var found = false
        for field in fields where fieldNameIs(field, lowercasedName) {
            ASCII.forEachListElement(raw, field.value) { element in
                var end = element.lowerBound
                while end < element.upperBound, raw[end] != ASCII.semicolon { end += 1 }
                let name = ASCII.trimmingWhitespace(raw, element.lowerBound..<end)
                found = ASCII.equalsLowercased(raw, name, token)
                return !found
            }
            if found { return true }
        }
        return false
    }

    /// Allocating helpers for logs and tests.
    func lowercasedName(_ field: HTTPField) -> String {
        String(decoding: raw[field.name].lazy.map(ASCII.lowercased), as: UTF8.self)
    }

    func valueString(_ field: HTTPField) -> String {
        String(decoding: raw[field.value], as: UTF8.self)
    }
}
