@testable import BearerProxy
import Foundation
import Testing

extension Integration {
    /// Found while tearing down integration fixtures: every test released its groups and the
    /// test process died with "BUG IN CLIENT OF LIBDISPATCH: Release of a suspended object".
    @Suite("Lifetime: event loops can be released")
    struct Lifetime {
        // EventLoop.sweep() suspends `sweepTimer` once nothing is tracked; deinit then releases
        // the suspended source, which libdispatch traps on. Run in a child process: it crashes.
        @Test("an event loop whose timeout sweep went idle can be released without crashing the process")
        func eventLoopReleasedAfterSweepSuspends() async {
            await #expect(processExitsWith: .success) {
                final class Ticket: Expirable {
                    var deadline: UInt64 = 0
                    func expire() {}
                }
                var loop: EventLoop? = EventLoop(index: 0, label: "itest.lifetime")
                let ticket = Ticket()
                loop!.queue.sync {
                    loop!.track(ticket)
                    loop!.untrack(ticket)
                }
                // The sweep runs every 100 ms and suspends the timer when it finds nothing
                // tracked. That state is private, so wait a few sweep intervals (child process only).
                usleep(350_000)
                loop = nil
                usleep(50_000)
            }
        }
    }
}
