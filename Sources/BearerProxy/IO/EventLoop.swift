import CEpoll
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Something on a loop that can time out: the loop's sweeper compares `deadline` with the clock.
protocol Expirable: AnyObject {
    /// Uptime nanoseconds after which `expire()` is called; 0 means no deadline.
    var deadline: UInt64 { get set }
    func expire()
}

/// A serial queue that owns one epoll set, and the resources shared by everything pinned to it.
///
/// The loop's API, in the manner of redis's `ae`:
/// - `register(_:fd:)` adds a descriptor to the epoll set once, edge-triggered for input, output
///   and the peer's half-close; `deregister(fd:token:)` forgets it before it is closed. A handler hears
///   `handleEvents(_:)` with what became ready, and reads or writes until EAGAIN itself.
/// - `defer(_:)` runs a handler's `runDeferred()` once more on this loop, after the current
///   batch: for work an edge will not announce again (a read cut short by its budget, input that
///   TLS already holds, reading resumed after a pause).
/// - `execute(_:)` runs a closure on the loop; `track(_:)` watches a deadline.
///
/// One Dispatch read source watches the epoll descriptor; its handler drains `epoll_wait(…, 0)`,
/// a bounded number of events per wake-up (see `eventsPerWakeup`). Every connection lives on one
/// loop for its whole life, so per-loop state (the read buffer, the upstream pool, the timeout
/// list, the handlers) needs no lock.
/// @unchecked Sendable: `queue`, `index` and `readBuffer`'s address are immutable; all other
/// stored properties, and the bytes of `readBuffer`, are touched only on `queue`.
public final class EventLoop: @unchecked Sendable {
    public let queue: DispatchQueue
    public let index: Int

    /// The epoll set, made when the first descriptor is registered (-1 before).
    var epollFD: Int32 = -1
    var epollSource: (any DispatchSourceRead)?
    /// Registered handlers by the token stored in their epoll event.
    var handlers = HandlerTable()
    /// Handlers to run again after the current batch (see `defer(_:)`), and whether a pass is queued.
    var deferred: [any DeferredWork] = []
    /// The epoll set is being drained: work deferred now runs at the end of that handler run.
    var inBatch = false
    var deferredPassQueued = false
    /// Where `epoll_wait` writes; `eventsPerWait` entries.
    let events: UnsafeMutablePointer<epoll_event>

    /// Scratch space for one read at a time. Bytes read here are handed to a delegate and must be
    /// consumed or copied before the delegate returns; one shared buffer keeps idle connections small.
    let readBuffer: UnsafeMutableRawBufferPointer

    static let readBufferSize = SizeLimits.readBuffer
    /// Timeouts are checked this often while anything on the loop has a deadline.
    static let sweepInterval: DispatchTimeInterval = .milliseconds(100)

    private var timed: [ObjectIdentifier: any Expirable] = [:]
    private var sweepTimer: DispatchSourceTimer?
    private var sweeping = false

    init(index: Int, label: String) {
        self.index = index
        // Target the global (non-overcommit) root queue: libdispatch then runs the loops on about
        // one thread per core, instead of a thread per queue that hands work back and forth.
        self.queue = DispatchQueue(label: "\(label).\(index)", target: .global())
        self.readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        self.events = .allocate(capacity: Self.eventsPerWait)
    }

    deinit {
        if let epollSource {
            epollSource.setEventHandler(handler: nil)
            epollSource.cancel()  // its cancel handler closes the epoll descriptor
        }
        events.deallocate()
        // libdispatch traps when a suspended source is released: resume it, then cancel.
        if let timer = sweepTimer {
            timer.setEventHandler(handler: nil)
            timer.cancel()
            if !sweeping { timer.resume() }
        }
        readBuffer.deallocate()
    }

    /// Runs `work` on this loop's queue.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }

    func assertOnLoop() {
        dispatchPrecondition(condition: .onQueue(queue))
    }

    static func now() -> UInt64 {
        // CLOCK_MONOTONIC, the clock of `DispatchTime.now()` on Linux, read without libdispatch's
        // conversion: several reads per request.
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    static func deadline(after duration: Duration) -> UInt64 {
        deadline(after: LoopTimeout(duration))
    }

    /// When a timeout that starts now runs out, on `now()`'s clock. Read from its coarse variant
    /// (`CLOCK_MONOTONIC_COARSE`: the same clock as of the kernel's last tick, 1 to 4 ms behind,
    /// and a quarter of the cost to read where the fine one reads the TSC): several deadlines are
    /// set per request, and a timeout that ends up to one tick early is still the timeout asked for.
    static func deadline(after timeout: LoopTimeout) -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        return (UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)) &+ timeout.nanoseconds
    }

    // MARK: Timeouts

    func track(_ object: any Expirable) {
        assertOnLoop()
        timed[ObjectIdentifier(object)] = object
        if !sweeping { startSweeping() }
    }

    func untrack(_ object: any Expirable) {
        timed.removeValue(forKey: ObjectIdentifier(object))
    }

    private func startSweeping() {
        sweeping = true
        if let timer = sweepTimer {
            timer.resume()
            return
        }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + Self.sweepInterval, repeating: Self.sweepInterval, leeway: .milliseconds(20))
        timer.setEventHandler { [weak self] in self?.sweep() }
        sweepTimer = timer
        timer.resume()
    }

    private func sweep() {
        let now = Self.now()
        var expired: [any Expirable] = []
        for object in timed.values where object.deadline != 0 && object.deadline <= now {
            expired.append(object)
        }
        for object in expired where object.deadline != 0 && object.deadline <= now {
            object.deadline = 0
            object.expire()
        }
        if timed.isEmpty, sweeping {
            sweeping = false
            sweepTimer?.suspend()
        }
    }
}

/// A fixed set of event loops, about one per core. New connections are spread round-robin.
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let cursor = Atomic<UInt>(0)

    public init(count: Int, label: String = "bearer-proxy.loop") {
        precondition(count > 0)
        loops = (0..<count).map { EventLoop(index: $0, label: label) }
    }

    public func next() -> EventLoop {
        let n = cursor.add(1, ordering: .relaxed).newValue
        return loops[Int(n % UInt(loops.count))]
    }
}
