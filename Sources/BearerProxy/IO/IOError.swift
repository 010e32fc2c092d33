#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which one, and the `errno` it left.
public struct IOError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    /// Replaces strerror's text for failures that have no errno (getaddrinfo, timeouts).
    public var detail: String?

    public init(_ operation: String, errno: Int32, detail: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        "\(operation): \(detail ?? String(cString: strerror(errno)))"
    }
}

/// The three outcomes of a non-blocking read or write that did not fail.
enum IOResult: Equatable {
    case done(Int)
    case wouldBlock
    case eof
}
