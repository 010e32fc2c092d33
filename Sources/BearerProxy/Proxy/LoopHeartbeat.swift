import Dispatch
import BearerSync

/// Tells whether every event loop still runs its queue: once a second each loop is asked to note
/// the time; a loop that has not done so for `maxSilence` is stuck (a blocking call, a livelock).
/// `/healthz` reads it without waiting on any loop, so a stuck loop cannot stall the probe.
/// The same tick runs the heap trimmer (`HeapTrimmer`), so that needs no timer of its own.
/// @unchecked Sendable: `beats` is behind its lock (Locked); `timer` is set once in `init`, and Dispatch
/// sources may be cancelled from any thread.
final class LoopHeartbeat: @unchecked Sendable {
    static let interval: DispatchTimeInterval = .seconds(1)
    static let maxSilenceNanoseconds: UInt64 = 5_000_000_000

    private let loops: [EventLoop]
    /// When each loop last ran a heartbeat; a class so the timer's handler can hold it.
    private final class Beats: Sendable {
        let times: Locked<[UInt64]>
        init(count: Int) { times = Locked(Array(repeating: EventLoop.now(), count: count)) }
    }
    private let beats: Beats
    private let timer: any DispatchSourceTimer

    init(loops: [EventLoop], heapTrimmer: HeapTrimmer? = nil) {
        self.loops = loops
        let beats = Beats(count: loops.count)
        self.beats = beats
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "bearer-proxy.heartbeat"))
        timer.schedule(deadline: .now(), repeating: Self.interval)
        timer.setEventHandler { [loops] in
            for (index, loop) in loops.enumerated() {
                loop.execute { beats.times.withLock { $0[index] = EventLoop.now() } }
            }
            heapTrimmer?.tick()
        }
        timer.resume()
    }

    /// nil when every loop answered recently; otherwise why not.
    func problem(now: UInt64 = EventLoop.now()) -> String? {
        let beats = self.beats.times.withLock { $0 }
        for (index, beat) in beats.enumerated() where now > beat && now - beat > Self.maxSilenceNanoseconds {
            return "event loop \(index) has not answered for \((now - beat) / 1_000_000_000) s"
        }
        return nil
    }

    func stop() {
        timer.cancel()
    }
}
