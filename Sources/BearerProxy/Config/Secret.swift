/// A credential that must never reach a log line, an error message or a debugger dump.
///
/// Every textual form (`"\(secret)"`, `String(describing:)`, `String(reflecting:)`, `dump`)
/// prints `<redacted>`; only `value` gives the real text, and only code that sends it
/// (the token fetcher) should read it.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var value: String

    public init(_ value: String) {
        self.value = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    /// No children, so `dump` and `Mirror` show nothing but the redacted description.
    public var customMirror: Mirror { Mirror(self, children: [] as [Mirror.Child]) }
}
