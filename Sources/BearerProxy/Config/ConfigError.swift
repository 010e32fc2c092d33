/// A problem with `proxy.conf`, located as precisely as the file allows.
///
/// The description reads like a compiler diagnostic, for example
/// `proxy.conf:7: upstream.url: must use https (set upstream.insecure_http: true to allow http)`.
/// Messages never contain a secret: the loader only echoes values of keys that cannot hold one.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration file as named to the loader (path or `sourceName`).
    public var source: String
    /// 1-based line of the offending node, when there is one.
    public var line: Int?
    /// Dotted key, e.g. `upstream.pool.max_idle`; empty when the problem concerns the whole file.
    public var key: String
    public var message: String

    public init(source: String, line: Int?, key: String, message: String) {
        self.source = source
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var text = source
        if let line { text += ":\(line)" }
        text += ": "
        if !key.isEmpty { text += key + ": " }
        return text + message
    }
}

/// Why a single value could not be parsed; the loader adds file, line and key.
struct InvalidValue: Error, Equatable {
    var message: String

    init(_ message: String) { self.message = message }
}
