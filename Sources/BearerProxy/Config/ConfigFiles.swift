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
