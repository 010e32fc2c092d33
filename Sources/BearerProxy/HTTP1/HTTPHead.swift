/// What request and response heads share: the received bytes and the field lines pointing into them.
/// Lookups compare bytes in place; only the `String` helpers (for logs and tests) allocate.
protocol HTTPHead: Sendable {
    /// The head exactly as received, from the first byte of the start line through the final CRLF CRLF.
    var raw: [UInt8] { get }
    /// Field lines in received order, duplicates kept (RFC 9110 §5.3: order of same-name lines matters).
    var fields: [HTTPField] { get }
    /// The known fields among them (`HTTPField.known`), so a lookup of one the head lacks costs nothing.
    var knownFields: KnownFields { get }
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

    /// Lookups of the names the parser recognises: one byte compared per field, none when the
    /// head has no such field.
    func has(_ known: KnownField) -> Bool { knownFields.contains(known) }

    func firstValue(named known: KnownField) -> ArraySlice<UInt8>? {
        guard knownFields.contains(known) else { return nil }
        for field in fields where field.known == known { return raw[field.value] }
        return nil
    }

    func count(named known: KnownField) -> Int {
        guard knownFields.contains(known) else { return 0 }
        var n = 0
        for field in fields where field.known == known { n += 1 }
        return n
    }

    func hasToken(_ token: StaticString, inFieldsNamed known: KnownField) -> Bool {
        guard knownFields.contains(known) else { return false }
        return hasToken(token) { $0.known == known }
    }

    /// True when any element of the comma-separated lists in the fields named `inFieldsNamed`
    /// equals `token`, case-insensitively (RFC 9110 §5.6.1, §7.6.1 Connection options are
    /// case-insensitive). Parameters after `;` are ignored, so `TE: trailers;q=1` has `trailers`.
    /// Both literals must be lowercase ASCII.
    func hasToken(_ token: StaticString, inFieldsNamed lowercasedName: StaticString) -> Bool {
        hasToken(token) { fieldNameIs($0, lowercasedName) }
    }

    private func hasToken(_ token: StaticString, inFieldsWhere isNamed: (HTTPField) -> Bool) -> Bool {
        var found = false
        for field in fields where isNamed(field) {
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
