/// One YAML mapping of `proxy.conf`, read strictly.
///
/// Keys are checked against a fixed list when the mapping is opened, so a typo fails with
/// its line number instead of silently leaving a default in place. Typed getters return nil
/// for an absent key or an explicit null (`key:` or `key: ~`), which therefore means "default".
/// Type errors describe what was found, never the value, so a misplaced secret is not echoed.
struct ConfigMapping {
    let source: String
    /// Dotted path of this mapping; empty for the top level.
    let path: String
    /// Line of the mapping itself (nil for a section that is absent from the file).
    let line: Int?
    private let entries: [String: YAMLNode]

    init(_ node: YAMLNode, source: String, path: String, allowedKeys: [String]) throws(ConfigError) {
        self.source = source
        self.path = path
        self.line = node.line
        guard case .mapping(let mapping) = node.content else {
            throw ConfigError(
                source: source, line: node.line, key: path,
                message: "must be a mapping of keys, found \(ConfigMapping.kind(of: node))")
        }
        var entries: [String: YAMLNode] = [:]
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode.content else {
                throw ConfigError(source: source, line: keyNode.line, key: path, message: "keys must be plain names")
            }
            let key = keyScalar.text
            guard allowedKeys.contains(key) else {
                throw ConfigError(
                    source: source, line: keyNode.line, key: ConfigMapping.join(path, key),
                    message: "unknown key" + KeySuggestion.hint(for: key, among: allowedKeys))
            }
            entries[key] = valueNode
        }
        self.entries = entries
    }

    /// A section that is absent from the file: every key reads as missing.
    init(absent path: String, source: String) {
        self.source = source
        self.path = path
        self.line = nil
        self.entries = [:]
    }

    // MARK: Locating

    func keyPath(_ key: String) -> String { ConfigMapping.join(path, key) }

    /// The value node, or nil when the key is absent or null.
    func node(_ key: String) -> YAMLNode? {
        guard let node = entries[key], !ConfigMapping.isNull(node) else { return nil }
        return node
    }

    func line(of key: String) -> Int? { entries[key]?.line }

    func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(source: source, line: line(of: key), key: keyPath(key), message: message)
    }

    /// "required key is missing" without a line, or "needs a value" at the line of `key:`.
    func missing(_ key: String) -> ConfigError {
        if entries[key] != nil { return error(key, "a value is required") }
        return ConfigError(source: source, line: nil, key: keyPath(key), message: "required key is missing")
    }

    // MARK: Typed getters

    /// Any non-empty scalar, as written. Numbers are accepted as text (`client_id: 12345`).
    func string(_ key: String) throws(ConfigError) -> String? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node.content else {
            throw error(key, "must be a string, found \(ConfigMapping.kind(of: node))")
        }
        guard !scalar.text.isEmpty else { throw error(key, "must not be empty") }
        return scalar.text
    }

    func requiredString(_ key: String) throws(ConfigError) -> String {
        guard let value = try string(key) else { throw missing(key) }
        return value
    }

    /// A string parsed by `parse`; its complaint is reported at the key's line.
    func value<T>(_ key: String, _ parse: (String) throws(InvalidValue) -> T) throws(ConfigError) -> T? {
        guard let text = try string(key) else { return nil }
        do {
            return try parse(text)
        } catch {
            throw self.error(key, error.message)
        }
    }

    /// YAML 1.2 core booleans, unquoted.
    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let node = node(key) else { return nil }
        if case .scalar(let scalar) = node.content, scalar.isPlain {
            switch scalar.text {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        throw error(key, "must be true or false, found \(ConfigMapping.kind(of: node))")
    }

    /// An unquoted decimal integer within `range`.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node.content, scalar.isPlain, let value = Int(scalar.text) else {
            throw error(key, "must be a whole number, found \(ConfigMapping.kind(of: node))")
        }
        guard range.contains(value) else {
            if range.upperBound == Int.max {
                throw error(key, "must be at least \(range.lowerBound), found \(value)")
            }
            throw error(key, "must be from \(range.lowerBound) to \(range.upperBound), found \(value)")
        }
        return value
    }

    /// A duration with a unit; zero is rejected unless `allowZero`.
    func duration(_ key: String, allowZero: Bool = false, atLeast minimum: Duration? = nil) throws(ConfigError) -> Duration? {
        guard let duration = try value(key, ConfigDuration.parse) else { return nil }
        guard allowZero || duration > .zero else { throw error(key, "must be longer than 0s") }
        if let minimum, duration < minimum { throw error(key, "must be at least \(ConfigDuration.format(minimum))") }
        return duration
    }

    /// A list of non-empty scalars (block or flow style).
    func strings(_ key: String) throws(ConfigError) -> [String]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let sequence) = node.content else {
            throw error(key, "must be a list such as [a, b], found \(ConfigMapping.kind(of: node))")
        }
        var values: [String] = []
        for (index, item) in sequence.enumerated() {
            guard case .scalar(let scalar) = item.content, !ConfigMapping.isNull(item), !scalar.text.isEmpty else {
                throw ConfigError(
                    source: source, line: item.line, key: keyPath(key) + "[\(index)]",
                    message: "must be a non-empty string, found \(ConfigMapping.kind(of: item))")
            }
            values.append(scalar.text)
        }
        return values
    }

    /// A mapping of names to non-empty scalars, in file order (`extra_params: {tenant: acme}`).
    func stringPairs(_ key: String) throws(ConfigError) -> [(String, String)]? {
        guard let node = node(key) else { return nil }
        guard case .mapping(let mapping) = node.content else {
            throw error(key, "must be a mapping such as {name: value}, found \(ConfigMapping.kind(of: node))")
        }
        var pairs: [(String, String)] = []
        for (nameNode, valueNode) in mapping {
            guard case .scalar(let name) = nameNode.content, case .scalar(let value) = valueNode.content, !ConfigMapping.isNull(valueNode) else {
                throw ConfigError(source: source, line: valueNode.line, key: keyPath(key),
                                  message: "every entry must be name: value, found \(ConfigMapping.kind(of: valueNode))")
            }
            pairs.append((name.text, value.text))
        }
        return pairs
    }

    /// A nested section; nil when absent or null.
    func mapping(_ key: String, allowedKeys: [String]) throws(ConfigError) -> ConfigMapping? {
        guard let node = node(key) else { return nil }
        return try ConfigMapping(node, source: source, path: keyPath(key), allowedKeys: allowedKeys)
    }

    /// A nested section, or an empty one when absent so its required keys are reported by name.
    func section(_ key: String, allowedKeys: [String]) throws(ConfigError) -> ConfigMapping {
        try mapping(key, allowedKeys: allowedKeys) ?? ConfigMapping(absent: keyPath(key), source: source)
    }

    // MARK: Node helpers

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    static func isNull(_ node: YAMLNode) -> Bool {
        guard case .scalar(let scalar) = node.content, scalar.isPlain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.text)
    }

    /// What a node is, for type errors; deliberately without its content.
    static func kind(of node: YAMLNode) -> String {
        switch node.content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar):
            if isNull(node) { return "null" }
            if !scalar.isPlain { return "a quoted string" }
            if Int(scalar.text) != nil { return "a number" }
            if ["true", "false", "True", "False", "TRUE", "FALSE"].contains(scalar.text) { return "a boolean" }
            return "a string"
        }
    }
}
