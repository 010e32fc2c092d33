/// A parsed response head. `reason` may be empty; RFC 9112 §4 says clients ignore it.
struct ResponseHead: HTTPHead, Equatable {
    var raw: [UInt8]
    var version: HTTPVersion
    var status: Int
    var reason: Range<Int>
    var fields: [HTTPField]
    var knownFields: KnownFields

    var reasonString: String { String(decoding: raw[reason], as: UTF8.self) }

    /// RFC 9110 §15.2: 1xx responses are interim; the final response follows on the same connection.
    var isInformational: Bool { (100..<200).contains(status) }
}
