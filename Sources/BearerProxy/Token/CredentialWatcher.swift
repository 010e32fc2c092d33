import BearerTLS
import Dispatch

/// Polls the credential files and calls `onChange` when their contents change.
///
/// Polling rather than inotify: Kubernetes rotates a secret volume by swapping a `..data`
/// symlink, which watches on the files themselves miss. Reading a few small files every few
/// seconds costs nothing. All state is touched only on `queue`.
final class CredentialWatcher: @unchecked Sendable {  // fingerprint and timer: only on `queue`
    static let defaultInterval: Duration = .seconds(5)

    private let files: [String]
    private let queue = DispatchQueue(label: "bearer-proxy.credential-watcher")
    private let onChange: @Sendable () -> Void
    private var fingerprint: [UInt8]
    private var timer: (any DispatchSourceTimer)?

    /// Watches the files a token profile's credentials live in.
    convenience init(source: ClientCredentialSource, onChange: @escaping @Sendable () -> Void) {
        self.init(files: source.watchedFiles, onChange: onChange)
    }

    /// Watches `files` (certificates, keys: anything whose new contents must be taken up).
    init(files: [String], onChange: @escaping @Sendable () -> Void) {
        self.files = files
        self.onChange = onChange
        self.fingerprint = Self.fingerprint(of: files)
    }

    /// SHA-256 over the files' contents (an unreadable file counts as empty). Content, not mtime:
    /// Kubernetes swaps a symlink, and some editors keep the mtime.
    static func fingerprint(of files: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for path in files {
            let contents = (try? ConfigFiles.contents(of: path, limit: TokenConfig.maxPEMFileSize).get()) ?? []
            bytes += CryptoPrimitives.sha256(contents)
        }
        return CryptoPrimitives.sha256(bytes)
    }

    /// Does nothing when no credential lives in a file.
    func start(interval: Duration = CredentialWatcher.defaultInterval) {
        guard !files.isEmpty else { return }
        queue.async { [self] in
            let timer = DispatchSource.makeTimerSource(queue: queue)
            let nanos = Int(TokenProvider.nanoseconds(interval))
            timer.schedule(deadline: .now() + .nanoseconds(nanos), repeating: .nanoseconds(nanos))
            timer.setEventHandler { [weak self] in self?.check() }
            timer.resume()
            self.timer = timer
        }
    }

    /// Compares the files with what was seen last; public to tests so they need not wait.
    func check() {
        dispatchPrecondition(condition: .onQueue(queue))
        let now = Self.fingerprint(of: files)
        guard now != fingerprint else { return }
        fingerprint = now
        onChange()
    }

    func checkNow() {
        queue.sync { check() }
    }

    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }
}
