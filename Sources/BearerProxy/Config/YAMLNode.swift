/// One node of a composed YAML document: what the config loader reads, and where it is.
///
/// Scalars keep their text as written (no type resolution: `ConfigMapping` decides what a
/// scalar means) and whether they were plain, since `"4"` is text where `4` is a number.
struct YAMLNode {
    enum Content {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        /// Entries in file order; keys are unique by text (the composer rejects duplicates).
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    var content: Content
    /// 1-based line where the node starts.
    var line: Int
}

struct YAMLScalar {
    var text: String
    /// Written without quotes or block indicators (`| >`).
    var isPlain: Bool
}

/// Why a YAML text could not be composed. Messages never quote the text: it may hold a secret.
enum YAMLError: Error, Equatable {
    /// libyaml's scanner or parser, or the composer's own structural check, with libyaml's wording.
    case syntax(problem: String, context: String?, line: Int)
    /// Bytes libyaml refuses to read, such as control characters; libyaml gives no line.
    case reader(problem: String)
    /// The same key twice in one mapping; `line` is its first occurrence.
    case duplicateKey(String, line: Int)
    /// Valid YAML that the config format does not use (tags, deep nesting).
    case unsupported(String, line: Int)
    /// libyaml could not allocate memory.
    case memory
}
