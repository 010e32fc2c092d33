import Dispatch

/// Polls the credential files and calls `onChange` when their contents change.
///
/// Polling rather than inotify: Kubernetes rotates a secret volume by swapping a `..data`
/// symlink, which watches on the files themselves miss. Reading a few small files every few
/// seconds costs nothing. All state is touched only on `queue`.
final class CredentialWatcher: @unchecked Sendable {  // fingerprint and timer: only on `queue`
    static let defaultInterval: Duration = .seconds(5)

    private let source: ClientCredentialSource
    private let queue = DispatchQueue(label: "bearer-proxy.credential-watcher")
    private let onChange: @Sendable () -> Void
    private var fingerprint: [UInt8]
    private var timer: (any DispatchSourceTimer)?

    init(source: ClientCredentialSource, onChange: @escaping @Sendable () -> Void) {
        self.source = source
        self.onChange = onChange
        self.fingerprint = source.fingerprint()
    }

    /// Does nothing when no credential lives in a file.
    func start(interval: Duration = CredentialWatcher.defaultInterval) {
        guard !source.watchedFiles.isEmpty else { return }
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
        let now = source.fingerprint()
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
