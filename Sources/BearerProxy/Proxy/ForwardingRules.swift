/// What crosses the proxy, as data: which fields are dropped, which are added, and how each head
/// is rewritten. Heads are built as bytes straight from the parsed input; no field becomes a String.
struct ForwardingRules: Sendable {
    /// The upstream's authority, sent as `Host`.
    let upstreamAuthority: [UInt8]
    /// "https" (or "http" with insecure_http), for the URL a DPoP proof names.
    let upstreamScheme: String
    /// Prefix for every request path ("" or "/v2").
    let basePath: [UInt8]

    /// How many bytes of the path to remove before `basePath` goes in front: the route's matched
    /// prefix without its trailing "/" (`strip_prefix`), or 0.
    let strippedPrefixLength: Int

    init(upstreamAuthority: String, basePath: String, strippedPrefix: String = "", upstreamScheme: String = "https") {
        self.upstreamAuthority = Array(upstreamAuthority.utf8)
        self.upstreamScheme = upstreamScheme
        self.basePath = Array(basePath.utf8)
        self.strippedPrefixLength = strippedPrefix.utf8.count
    }

    /// RFC 9110 §7.6.1: hop-by-hop fields, meaningful for one connection only. `Proxy-Connection`
    /// is the non-standard relative some clients still send.
    static let hopByHop: [KnownField] = [
        .connection, .keepAlive, .proxyConnection, .te, .trailer, .transferEncoding, .upgrade,
    ]

    /// Request fields the client may not pass on: credentials (ours replace them; a DPoP proof
    /// belongs to the token it was made for, RFC 9449 §7.1), `Host` (the upstream's replaces it),
    /// framing (re-made for the body we actually send), and the forwarding fields we set ourselves.
    static let requestReplaced: [KnownField] = [
        .authorization, .proxyAuthorization, .dpop, .host, .contentLength,
        .xForwardedFor, .xForwardedProto, .xForwardedHost,
    ]

    /// Response fields that only concern the proxy's hop.
    static let responseDropped: [KnownField] = [.proxyAuthenticate, .proxyAuthenticationInfo]

    /// Every name a request head loses on the way up, and a response head on the way down: the
    /// lists above as one set each, so the per-field check is one bit test.
    static let requestDropped = KnownFields(hopByHop + requestReplaced)
    static let responseDroppedAll = KnownFields(hopByHop + responseDropped)

    // MARK: Request target

    enum TargetForm: Equatable {
        case origin       // "/path?query"
        case asterisk     // "*" (OPTIONS only)
        case absolute     // "http://host/path": RFC 9112 §3.2.2 requires servers to accept it
    }

    /// Classifies the target; anything else (authority-form, garbage) is rejected.
    static func targetForm(of head: RequestHead) -> TargetForm? {
        let target = head.raw[head.target]
        guard let first = target.first else { return nil }
        if first == UInt8(ascii: "/") { return .origin }
        if target.count == 1, first == UInt8(ascii: "*") {
            return head.methodIs("OPTIONS") ? .asterisk : nil
        }
        if hasPrefixIgnoringCase(target, "http://") || hasPrefixIgnoringCase(target, "https://") { return .absolute }
        return nil
    }

    /// True when the target's path has a `.` or `..` segment, also percent-encoded (`%2e%2E`), which
    /// RFC 3986 §6.2.2 makes the same thing. Servers disagree on whether to resolve them, and once
    /// resolved, `/../admin` under the base path `/v2` names `/admin`: such a target is refused
    /// rather than guessed at. Clients remove dot-segments before sending (RFC 3986 §5.2.4).
    /// It also catches what some servers do before resolving: decode `%2f`, `\\` and `%5c` as `/`,
    /// decode twice (`%252e`), and drop `;parameters` from a segment (`/..;x/admin`).
    static func hasDotSegment(_ head: RequestHead, form: TargetForm) -> Bool {
        let target = head.raw[head.target]
        guard let path = pathRange(of: target, form: form) else { return false }
        var dots = 0          // dots in the current segment, "." or an encoding of it
        var other = false     // anything else in it before a ";"
        var i = path.lowerBound
        while i < path.upperBound {
            let (byte, width) = decodedByte(target, at: i, end: path.upperBound)
            switch byte {
            case UInt8(ascii: "/"), UInt8(ascii: "\\"):
                if !other && (dots == 1 || dots == 2) { return true }
                dots = 0
                other = false
            case UInt8(ascii: ";"):
                if !other && (dots == 1 || dots == 2) { return true }
                other = true  // the rest of the segment is parameters
            case UInt8(ascii: "."):
                if !other { dots += 1 }
            default:
                other = true
            }
            i += width
        }
        return !other && (dots == 1 || dots == 2)
    }

    /// Where the path is in the target: all of an origin-form target up to "?", or what follows
    /// the authority of an absolute-form one; nil when there is none (`*`, `http://h`, `http://h?q`).
    /// The same split `appendUpstreamTarget` makes.
    static func pathRange(of target: ArraySlice<UInt8>, form: TargetForm) -> Range<Int>? {
        var start = target.startIndex
        switch form {
        case .asterisk:
            return nil
        case .origin:
            break
        case .absolute:
            guard let pathStart = afterAuthority(target), target[pathStart] == UInt8(ascii: "/") else { return nil }
            start = pathStart
        }
        let end = target[start...].firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        return start..<end
    }

    /// The authority of an absolute-form target (`host[:port]`, without any userinfo).
    static func authority(of target: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let start = target.firstRange(of: Array("://".utf8)).map { $0.upperBound } ?? target.startIndex
        let end = afterAuthority(target) ?? target.endIndex
        let authority = target[start..<end]
        // RFC 9110 §4.2.4: userinfo is deprecated in http(s) URIs; only what follows "@" names the host.
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) { return authority[(at + 1)...] }
        return authority
    }

    static func isHTTPS(_ target: ArraySlice<UInt8>) -> Bool {
        hasPrefixIgnoringCase(target, "https://")
    }

    /// In an absolute-form target, where the authority ends: the first "/" or "?" after "scheme://".
    static func afterAuthority(_ target: ArraySlice<UInt8>) -> Int? {
        let afterScheme = target.firstRange(of: Array("://".utf8)).map { $0.upperBound } ?? target.startIndex
        return target[afterScheme...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }
    }

    /// The byte at `i` with `%2e`, `%2f` and `%5c` decoded, once or twice encoded (`%252e`), and
    /// how many bytes it took. Other escapes stay as their "%".
    private static func decodedByte(_ target: ArraySlice<UInt8>, at i: Int, end: Int) -> (UInt8, Int) {
        guard target[i] == UInt8(ascii: "%") else { return (target[i], 1) }
        if i + 2 < end, let byte = percentEscape(hi: target[i + 1], lo: target[i + 2] | 0x20) { return (byte, 3) }
        if i + 4 < end, target[i + 1] == UInt8(ascii: "2"), target[i + 2] == UInt8(ascii: "5"),
           let byte = percentEscape(hi: target[i + 3], lo: target[i + 4] | 0x20) {
            return (byte, 5)
        }
        return (target[i], 1)
    }

    /// The three escapes that matter to `hasDotSegment`: `%2e` ".", `%2f` "/", `%5c` "\\" (`lo` lowercased).
    private static func percentEscape(hi: UInt8, lo: UInt8) -> UInt8? {
        switch (hi, lo) {
        case (UInt8(ascii: "2"), UInt8(ascii: "e")): UInt8(ascii: ".")
        case (UInt8(ascii: "2"), UInt8(ascii: "f")): UInt8(ascii: "/")
        case (UInt8(ascii: "5"), UInt8(ascii: "c")): UInt8(ascii: "\\")
        default: nil
        }
    }

    /// Appends the target as the upstream must see it: always origin-form under the base path,
    /// less the route's prefix when it strips one. An absolute-form target keeps only its path and
    /// query; the host it names chose the route, and the request goes to that route's upstream.
    func appendUpstreamTarget(of head: RequestHead, form: TargetForm, to out: inout some ByteAppending) {
        let target = head.raw[head.target]
        var rest: ArraySlice<UInt8>
        switch form {
        case .asterisk:
            out.append(UInt8(ascii: "*"))
            return
        case .origin:
            rest = target
        case .absolute:
            rest = Self.afterAuthority(target).map { target[$0...] } ?? []
        }
        // The route matched this prefix on a segment boundary, so the rest starts with "/" or "?" or is empty.
        if strippedPrefixLength > 0, rest.first == UInt8(ascii: "/") { rest = rest.dropFirst(strippedPrefixLength) }
        out.append(basePath)
        if rest.first != UInt8(ascii: "/") { out.append(UInt8(ascii: "/")) }
        out.append(head.raw, range: rest.startIndex..<rest.endIndex)
    }

    /// The request's path (before any "?"), as routes match it: "/" when the target has none.
    static func routingPath(of head: RequestHead, form: TargetForm) -> ArraySlice<UInt8> {
        let target = head.raw[head.target]
        guard let range = pathRange(of: target, form: form) else { return ArraySlice(Self.rootPath) }
        return target[range]
    }

    private static let rootPath: [UInt8] = [UInt8(ascii: "/")]

    // MARK: Heads

    /// The request head sent upstream: the client's fields in their order, less the hop-by-hop
    /// and replaced ones, then ours. The bearer field is added last, after every client field is
    /// filtered, so nothing the client sends can remove, replace or duplicate it.
    /// `webSocket`: the request asks to switch to WebSocket (RFC 6455 §4.1); `Connection` and
    /// `Upgrade` are hop-by-hop, so this hop's are sent anew.
    /// `proof`: the DPoP proof for this request when the token is DPoP-bound (RFC 9449 §7.1).
    func upstreamHead(for head: RequestHead, form: TargetForm, framing: BodyFraming, token: AccessToken, clientAddress: String,
                      webSocket: Bool = false, proof: String? = nil) -> [UInt8] {
        ByteWriter.bytes(capacity: upstreamHeadEstimate(for: head, token: token, clientAddress: clientAddress, proof: proof)) { out in
            writeUpstreamHead(for: head, form: form, framing: framing, token: token, clientAddress: clientAddress,
                              webSocket: webSocket, proof: proof, to: &out)
        }
    }

    /// Room that the upstream head almost always fits in: each client field grows by at most 2
    /// bytes (": " for ":"), and ours take under 200.
    func upstreamHeadEstimate(for head: RequestHead, token: AccessToken, clientAddress: String, proof: String?) -> Int {
        head.raw.count + 2 * head.fields.count + upstreamAuthority.count + basePath.count
            + token.headerValue.count + clientAddress.utf8.count + (proof?.utf8.count ?? 0) + 200
    }

    func writeUpstreamHead(for head: RequestHead, form: TargetForm, framing: BodyFraming, token: AccessToken,
                                   clientAddress: String, webSocket: Bool, proof: String?, to out: inout ByteWriter) {
        out.append(head.raw, range: head.method)
        out.append(UInt8(ascii: " "))
        appendUpstreamTarget(of: head, form: form, to: &out)
        out.append(" HTTP/1.1\r\nHost: ")
        out.append(upstreamAuthority)
        out.append("\r\n")

        let filter = HopFilter(head, dropping: Self.requestDropped)
        for field in head.fields where !filter.drops(field, of: head) {
            Self.appendField(field, of: head, to: &out)
        }
        // X-Forwarded-For: earlier hops as the client sent them, then the client itself.
        Self.appendName("X-Forwarded-For", to: &out)
        if head.has(.xForwardedFor) {
            for field in head.fields where field.known == .xForwardedFor {
                out.append(head.raw, range: field.value)
                out.append(", ")
            }
        }
        var address = clientAddress
        address.withUTF8 { out.append(bytes: UnsafeRawBufferPointer($0)) }
        out.append("\r\n")
        Self.appendField(name: "X-Forwarded-Proto", value: "http", to: &out)
        if let host = head.firstValue(named: .host) {
            Self.appendName("X-Forwarded-Host", to: &out)
            out.append(head.raw, range: host.startIndex..<host.endIndex)
            out.append("\r\n")
        }
        switch framing {
        case .contentLength(let length):
            Self.appendName("Content-Length", to: &out)
            out.append(decimal: length)
            out.append("\r\n")
        case .chunked:
            Self.appendField(name: "Transfer-Encoding", value: "chunked", to: &out)
        case .none, .untilClose:
            // RFC 9110 §8.6: a body-less request with a method that usually has one still says so.
            if head.methodIs("POST") || head.methodIs("PUT") || head.methodIs("PATCH") {
                Self.appendField(name: "Content-Length", value: "0", to: &out)
            }
        }
        if webSocket {
            Self.appendField(name: "Connection", value: "Upgrade", to: &out)
            Self.appendField(name: "Upgrade", value: "websocket", to: &out)
        }
        Self.appendName("Authorization", to: &out)
        out.append(token.headerValue)
        out.append("\r\n")
        if var proof {
            Self.appendName("DPoP", to: &out)
            proof.withUTF8 { out.append(bytes: UnsafeRawBufferPointer($0)) }
            out.append("\r\n")
        }
        out.append("\r\n")
    }

    /// The URL a request goes to upstream, without query (a DPoP proof's `htu`, RFC 9449 §4.2).
    func upstreamURL(for head: RequestHead, form: TargetForm) -> String {
        var bytes = Array("\(upstreamScheme)://".utf8) + upstreamAuthority
        appendUpstreamTarget(of: head, form: form, to: &bytes)
        return DPoPProver.withoutQuery(String(decoding: bytes, as: UTF8.self))
    }

    /// How a response body travels to the client.
    enum ClientFraming: Equatable {
        case none
        case contentLength        // the upstream's Content-Length is passed on
        case chunked              // re-encoded chunk by chunk (the upstream's own chunking is undone)
        case untilClose           // delimited by closing the client connection
    }

    static func clientFraming(for upstream: BodyFraming, clientVersion: HTTPVersion) -> ClientFraming {
        switch upstream {
        case .none: return .none
        case .contentLength: return .contentLength
        case .chunked: return clientVersion == .http1_1 ? .chunked : .untilClose
        case .untilClose: return .untilClose
        }
    }

    /// What the response's own `Connection` field says about the client connection.
    enum ClientConnection: Equatable {
        /// Nothing: an HTTP/1.1 connection stays open by default.
        case persistent
        /// `Connection: keep-alive`, which an HTTP/1.0 client needs to keep the connection open
        /// (RFC 9112 §9.3 and Appendix C.2.2).
        case keepAlive
        /// `Connection: close`: the proxy closes after this response.
        case close
        /// `Connection: Upgrade` and `Upgrade: websocket`: the 101 that turns the connection into
        /// a WebSocket tunnel (RFC 6455 §4.2.2).
        case webSocket

        /// For a client of `version` whose connection stays open or not.
        init(open: Bool, clientVersion: HTTPVersion) {
            self = !open ? .close : clientVersion == .http1_0 ? .keepAlive : .persistent
        }
    }

    /// The response head sent to the client: status line in our version, the upstream's fields
    /// less hop-by-hop ones, then our framing and connection fields.
    func clientHead(for head: ResponseHead, framing: ClientFraming, connection: ClientConnection) -> [UInt8] {
        ByteWriter.bytes(capacity: clientHeadEstimate(for: head)) { out in
            writeClientHead(for: head, framing: framing, connection: connection, to: &out)
        }
    }

    /// Room that the client head almost always fits in: each upstream field grows by at most 2
    /// bytes; the status line and ours take under 100.
    func clientHeadEstimate(for head: ResponseHead) -> Int {
        head.raw.count + 2 * head.fields.count + 100
    }

    func writeClientHead(for head: ResponseHead, framing: ClientFraming, connection: ClientConnection,
                                 to out: inout ByteWriter) {
        out.append("HTTP/1.1 ")
        out.append(decimal: UInt64(head.status))
        out.append(UInt8(ascii: " "))
        out.append(head.raw, range: head.reason)
        out.append("\r\n")
        let filter = HopFilter(head, dropping: Self.responseDroppedAll)
        for field in head.fields {
            if filter.drops(field, of: head) { continue }
            if field.known == .contentLength {
                // RFC 9110 §8.6: never on a 1xx. A re-framed body must not carry the upstream's length.
                if head.status < 200 { continue }
                if framing != .contentLength, head.status != 304, framing != .none { continue }
            }
            Self.appendField(field, of: head, to: &out)
        }
        if framing == .chunked {
            Self.appendField(name: "Transfer-Encoding", value: "chunked", to: &out)
        }
        switch connection {
        case .persistent: break
        case .keepAlive: Self.appendField(name: "Connection", value: "keep-alive", to: &out)
        case .close: Self.appendField(name: "Connection", value: "close", to: &out)
        case .webSocket:
            Self.appendField(name: "Connection", value: "Upgrade", to: &out)
            Self.appendField(name: "Upgrade", value: "websocket", to: &out)
        }
        out.append("\r\n")
    }

    /// An interim (1xx) response passed to the client as the upstream sent it, less hop-by-hop fields.
    func clientInterimHead(for head: ResponseHead) -> [UInt8] {
        clientHead(for: head, framing: .none, connection: .persistent)
    }

    // MARK: Field helpers

    /// The fields of one head that stay on this hop: those in a fixed set, and those the head's
    /// own `Connection` fields nominate (RFC 9110 §7.6.1). The nominations are read once per head;
    /// only an option outside the fixed set (`close`, or a real extension field) makes each field
    /// be checked against them, so the usual `Connection: keep-alive` costs nothing per field.
    struct HopFilter {
        let dropped: KnownFields
        private let checksNominations: Bool

        init(_ head: some HTTPHead, dropping dropped: KnownFields) {
            self.dropped = dropped
            var others = false
            if head.has(.connection) {
                let raw = head.raw
                for field in head.fields where field.known == .connection {
                    ASCII.forEachListElement(raw, field.value) { option in
                        if !option.isEmpty, !dropped.contains(raw.withUnsafeBytes { KnownField.recognise($0, option) }) {
                            others = true
                        }
                        return !others
                    }
                    if others { break }
                }
            }
            checksNominations = others
        }

        func drops(_ field: HTTPField, of head: some HTTPHead) -> Bool {
            dropped.contains(field.known) || checksNominations && Self.isNominated(field, in: head)
        }

        /// Whether a `Connection` field of `head` lists this field's name.
        private static func isNominated(_ field: HTTPField, in head: some HTTPHead) -> Bool {
            let raw = head.raw
            let name = field.name
            for connection in head.fields where connection.known == .connection {
                var nominated = false
                ASCII.forEachListElement(raw, connection.value) { option in
                    nominated = option.count == name.count
                        && zip(raw[option], raw[name]).allSatisfy { asciiLowercased($0) == asciiLowercased($1) }
                    return !nominated
                }
                if nominated { return true }
            }
            return false
        }
    }

    private static func appendField(_ field: HTTPField, of head: some HTTPHead, to out: inout ByteWriter) {
        out.append(head.raw, range: field.name)
        out.append(": ")
        out.append(head.raw, range: field.value)
        out.append("\r\n")
    }

    /// A field of ours whose value is fixed.
    private static func appendField(name: StaticString, value: StaticString, to out: inout ByteWriter) {
        appendName(name, to: &out)
        out.append(value)
        out.append("\r\n")
    }

    /// "Name: ", for a value the caller appends, followed by CRLF.
    private static func appendName(_ name: StaticString, to out: inout ByteWriter) {
        out.append(name)
        out.append(": ")
    }

    private static func hasPrefixIgnoringCase(_ bytes: ArraySlice<UInt8>, _ prefix: StaticString) -> Bool {
        let p = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        guard bytes.count >= p.count else { return false }
        return zip(bytes, p).allSatisfy { asciiLowercased($0) == $1 }
    }
}

@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}
