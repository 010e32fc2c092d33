#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File access for the loader: paths relative to the config file, and reads that report
/// the system's reason (`No such file or directory`) without ever quoting contents.
struct ConfigFiles {
    /// Directory of the config file; relative paths in the file are resolved against it.
    var baseDirectory: String

    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") || baseDirectory.isEmpty { return path }
        return baseDirectory.hasSuffix("/") ? baseDirectory + path : baseDirectory + "/" + path
    }

    /// Directory part of `path`, as `NSString.deletingLastPathComponent` gives it: `a/b/c` is
    /// `a/b`, `/c` is `/`, `c` is empty; repeated and trailing slashes are ignored.
    static func directory(of path: String) -> String {
        var text = Substring(path)
        while text.count > 1, text.hasSuffix("/") { text.removeLast() }
        guard let slash = text.lastIndex(of: "/") else { return "" }
        var directory = text[..<slash]
        while directory.hasSuffix("/") { directory.removeLast() }
        return directory.isEmpty && path.hasPrefix("/") ? "/" : String(directory)
    }

    /// The working directory, or empty when it cannot be read (for example when it was deleted).
    static func currentDirectory() -> String {
        guard let buffer = getcwd(nil, 0) else { return "" }
        defer { free(buffer) }
        return String(cString: buffer)
    }

    /// Whole file, at most `limit` bytes; the error message is the reason only.
    static func contents(of path: String, limit: Int) -> Result<[UInt8], InvalidValue> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(InvalidValue("cannot read \(path): \(errorText())")) }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(InvalidValue("cannot read \(path): \(errorText())"))
            }
            if count == 0 { return .success(contents) }
            contents += chunk[0..<count]
            if contents.count > limit {
                return .failure(InvalidValue("\(path) is larger than \(limit) bytes"))
            }
        }
    }

    static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    private static func errorText() -> String {
        String(cString: strerror(errno))
    }
}
