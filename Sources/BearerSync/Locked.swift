#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value that several threads share, behind a pthread mutex.
///
/// Why not `Synchronization.Mutex`: on Linux it locks with futex calls made inside the standard
/// library, which ThreadSanitizer does not instrument, so TSan cannot see the lock and reports
/// every access it guards as a race. TSan intercepts pthread mutexes, so with this type a race
/// report from CI means a real race. The cost is the same kind of futex-based lock.
/// @unchecked Sendable: `value` is read and written only while `mutex` is held.
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value. Keep it short: other threads wait.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
