/// One field line of a head, as positions into the head's `raw` bytes (no copy).
/// `value` excludes the leading and trailing OWS (RFC 9112 §5.1).
struct HTTPField: Sendable, Equatable {
    var name: Range<Int>
    var value: Range<Int>
    /// Which of the names the proxy acts on this is, recognised while parsing.
    var known: KnownField = .other
}
