internal import CYAML

/// Builds a `YAMLNode` tree from libyaml's parser events (document, mapping, sequence, scalar).
///
/// The config format needs YAML's structure only: no type resolution, no tags, one document.
/// Anchors and aliases work as in any YAML loader (an alias is a copy of the anchored node,
/// with the anchor's line). Merge keys (`<<`) are not special, so a mapping rejects them as an
/// unknown key.
struct YAMLComposer {
    /// Collections nested deeper than this are an error: proxy.conf needs four levels, and the
    /// composer recurses once per level, so a file of a million `[` must not exhaust the stack.
    static let maxDepth = 64
    /// Most nodes a document may stand for once its aliases are expanded: a few lines of nested
    /// aliases ("billion laughs") must not make the loader walk billions of nodes.
    static let maxExpandedNodes = 100_000

    /// The document in `text`, or nil when it holds none (empty, or only comments).
    /// More than one document is an error, as the loader reads one config.
    static func compose(_ text: String) throws(YAMLError) -> YAMLNode? {
        var text = text
        let result = text.withUTF8 { bytes -> Result<YAMLNode?, YAMLError> in
            let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
            defer { parser.deallocate() }
            guard yaml_parser_initialize(parser) == 1 else { return .failure(.memory) }
            defer { yaml_parser_delete(parser) }
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
            // The whole text, NULs included: libyaml rejects them as control characters.
            yaml_parser_set_input_string(parser, bytes.baseAddress, bytes.count)
            var composer = YAMLComposer(parser: parser)
            return Result { () throws(YAMLError) in try composer.singleDocument() }
        }
        return try result.get()
    }

    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private var anchors: [String: (node: YAMLNode, expandedSize: Int)] = [:]
    /// Nodes composed so far, each alias counted as the nodes it stands for.
    private var expandedNodes = 0

    private init(parser: UnsafeMutablePointer<yaml_parser_t>) {
        self.parser = parser
    }

    private mutating func singleDocument() throws(YAMLError) -> YAMLNode? {
        _ = try next() // stream start
        guard case .documentStart = try next().kind else { return nil }
        let root = try node(from: try next(), depth: 1)
        _ = try next() // document end
        let after = try next()
        guard case .streamEnd = after.kind else {
            throw .syntax(
                problem: "but found another document", context: "expected a single document in the stream",
                line: after.line)
        }
        return root
    }

    private mutating func node(from event: Event, depth: Int) throws(YAMLError) -> YAMLNode {
        if event.hasTag {
            throw .unsupported("YAML tags (!...) are not supported; write the value without one", line: event.line)
        }
        let node: YAMLNode
        let expandedBefore = expandedNodes
        if case .alias(let name) = event.kind, let anchored = anchors[name] {
            try count(anchored.expandedSize, at: event)
            return anchored.node
        }
        try count(1, at: event)
        switch event.kind {
        case .alias:
            throw .syntax(problem: "found undefined alias", context: nil, line: event.line)
        case .scalar(let scalar):
            node = YAMLNode(content: .scalar(scalar), line: event.line)
        case .sequenceStart:
            guard depth <= Self.maxDepth else { throw tooDeep(event) }
            var items: [YAMLNode] = []
            while true {
                let item = try next()
                if case .sequenceEnd = item.kind { break }
                items.append(try self.node(from: item, depth: depth + 1))
            }
            node = YAMLNode(content: .sequence(items), line: event.line)
        case .mappingStart:
            guard depth <= Self.maxDepth else { throw tooDeep(event) }
            var entries: [(key: YAMLNode, value: YAMLNode)] = []
            while true {
                let keyEvent = try next()
                if case .mappingEnd = keyEvent.kind { break }
                let key = try self.node(from: keyEvent, depth: depth + 1)
                let value = try self.node(from: try next(), depth: depth + 1)
                entries.append((key, value))
            }
            try Self.rejectDuplicateKeys(entries)
            node = YAMLNode(content: .mapping(entries), line: event.line)
        case .streamStart, .streamEnd, .documentStart, .documentEnd, .sequenceEnd, .mappingEnd:
            // libyaml's grammar puts a node here; anything else is a libyaml bug, reported not trapped.
            throw .syntax(problem: "did not find expected node", context: nil, line: event.line)
        }
        // Registered once complete, so a node cannot contain an alias of itself.
        if let anchor = event.anchor { anchors[anchor] = (node, expandedNodes - expandedBefore) }
        return node
    }

    private mutating func count(_ nodes: Int, at event: Event) throws(YAMLError) {
        expandedNodes += nodes
        guard expandedNodes <= Self.maxExpandedNodes else {
            throw .unsupported("aliases expand to more than \(Self.maxExpandedNodes) nodes", line: event.line)
        }
    }

    private func tooDeep(_ event: Event) -> YAMLError {
        .unsupported("nested more than \(Self.maxDepth) levels deep", line: event.line)
    }

    /// Scalar keys compare by text, quoted or not (`"a"` and `a` are the same key). Like Yams,
    /// reports the alphabetically first duplicated key at its first occurrence.
    private static func rejectDuplicateKeys(_ entries: [(key: YAMLNode, value: YAMLNode)]) throws(YAMLError) {
        var firstLine: [String: Int] = [:]
        var duplicate: (text: String, line: Int)?
        for (key, _) in entries {
            guard case .scalar(let scalar) = key.content else { continue }
            guard let line = firstLine[scalar.text] else {
                firstLine[scalar.text] = key.line
                continue
            }
            if let found = duplicate, found.text <= scalar.text { continue }
            duplicate = (scalar.text, line)
        }
        if let duplicate { throw .duplicateKey(duplicate.text, line: duplicate.line) }
    }

    // MARK: Events

    /// What the composer needs of one `yaml_event_t`, copied out so the C event is freed at once.
    private struct Event {
        enum Kind {
            case streamStart, streamEnd, documentStart, documentEnd
            case alias(String)
            case scalar(YAMLScalar)
            case sequenceStart, sequenceEnd, mappingStart, mappingEnd
        }

        var kind: Kind
        var anchor: String?
        var hasTag: Bool
        /// 1-based.
        var line: Int
    }

    private mutating func next() throws(YAMLError) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw parserError() }
        defer { yaml_event_delete(&event) }
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return Event(kind: .streamStart, hasTag: false, line: line)
        case YAML_DOCUMENT_START_EVENT:
            return Event(kind: .documentStart, hasTag: false, line: line)
        case YAML_DOCUMENT_END_EVENT:
            return Event(kind: .documentEnd, hasTag: false, line: line)
        case YAML_ALIAS_EVENT:
            return Event(kind: .alias(Self.string(event.data.alias.anchor) ?? ""), hasTag: false, line: line)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            // Scalars may contain NUL (`"\0"`), so the length counts, not the terminator.
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: Int(scalar.length)), as: UTF8.self)
            let isPlain = scalar.style == YAML_PLAIN_SCALAR_STYLE || scalar.style == YAML_ANY_SCALAR_STYLE
            return Event(
                kind: .scalar(YAMLScalar(text: text, isPlain: isPlain)),
                anchor: Self.string(scalar.anchor), hasTag: scalar.tag != nil, line: line)
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            return Event(kind: .sequenceStart, anchor: Self.string(start.anchor), hasTag: start.tag != nil, line: line)
        case YAML_SEQUENCE_END_EVENT:
            return Event(kind: .sequenceEnd, hasTag: false, line: line)
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            return Event(kind: .mappingStart, anchor: Self.string(start.anchor), hasTag: start.tag != nil, line: line)
        case YAML_MAPPING_END_EVENT:
            return Event(kind: .mappingEnd, hasTag: false, line: line)
        default:
            // YAML_NO_EVENT: only after the stream end, which the composer never reads past.
            return Event(kind: .streamEnd, hasTag: false, line: line)
        }
    }

    /// libyaml's problem and context, in its own words, at the problem's line.
    private func parserError() -> YAMLError {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown error"
        switch state.error {
        case YAML_MEMORY_ERROR:
            return .memory
        case YAML_READER_ERROR:
            return .reader(problem: problem)
        default:
            return .syntax(
                problem: problem, context: state.context.map { String(cString: $0) },
                line: Int(state.problem_mark.line) + 1)
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
