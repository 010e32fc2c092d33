/// A parsed request head. Ranges point into `raw`; nothing is copied out until someone asks.
struct RequestHead: HTTPHead, Equatable {
    var raw: [UInt8]
    var method: Range<Int>
    var target: Range<Int>
    var version: HTTPVersion
    var fields: [HTTPField]
    var knownFields: KnownFields

    var methodString: String { String(decoding: raw[method], as: UTF8.self) }
    var targetString: String { String(decoding: raw[target], as: UTF8.self) }

    /// RFC 9110 §9.1: the method token is case-sensitive, so these compare exact bytes.
    var isHEAD: Bool { methodIs("HEAD") }
    var isCONNECT: Bool { methodIs("CONNECT") }
    var isTRACE: Bool { methodIs("TRACE") }
    /// RFC 9110 §9.2.2: the methods whose repetition has the effect of one request (TRACE too,
    /// but the proxy refuses it).
    var isIdempotent: Bool {
        methodIs("GET") || methodIs("HEAD") || methodIs("OPTIONS") || methodIs("PUT") || methodIs("DELETE")
    }

    func methodIs(_ exact: StaticString) -> Bool {
        guard method.count == exact.utf8CodeUnitCount else { return false }
        return exact.withUTF8Buffer { lit in
            raw[method].elementsEqual(lit)
        }
    }
}
