@testable import BearerProxy
import Testing

@Suite("Connection counter: totals and the loops' shares")
struct ConnectionCounterTests {
    /// Connections the kernel gave to `loops` in that order, each started where `placement` says.
    static func accept(_ loops: [Int], into counter: ConnectionCounter) -> [Int] {
        loops.map { accepting in
            let target = counter.placement(acceptedOn: accepting)
            counter.opened(onLoop: target)
            return target
        }
    }

    @Test("a connection stays on the loop that accepted it while that loop holds at most one more than the others")
    func staysWhileEven() {
        let counter = ConnectionCounter(loops: 2)
        #expect(Self.accept([0], into: counter) == [0])
        // 1 against 0: one more, still kept.
        #expect(Self.accept([0], into: counter) == [0])
        #expect(counter.count(onLoop: 0) == 2)
        #expect(counter.count(onLoop: 1) == 0)
        #expect(counter.current == 2)
    }

    @Test("a loop holding two more than the least loaded hands the new connection to it")
    func handsOffAtTheMargin() {
        let counter = ConnectionCounter(loops: 3)
        _ = Self.accept([0, 0, 1], into: counter)  // 2, 1, 0
        #expect(counter.placement(acceptedOn: 0) == 2)
        #expect(counter.placement(acceptedOn: 1) == 1)
        #expect(counter.placement(acceptedOn: 2) == 2)
    }

    @Test("a burst the kernel sends to one loop ends up spread within two over all of them")
    func burstOnOneLoop() {
        for loops in [2, 3, 4] {
            let counter = ConnectionCounter(loops: loops)
            let targets = Self.accept(Array(repeating: 0, count: 64), into: counter)
            let shares = (0..<loops).map { loop in targets.filter { $0 == loop }.count }
            #expect(shares.max()! - shares.min()! <= ConnectionCounter.handOffMargin, "\(loops) loops: \(shares)")
            #expect(shares == (0..<loops).map(counter.count(onLoop:)))
            #expect(counter.current == 64)
        }
    }

    @Test("a connection on its way to a loop counts there at once, so a burst of hand-offs does not all go one way")
    func handOffsInFlight() {
        let counter = ConnectionCounter(loops: 3)
        for _ in 0..<6 { counter.opened(onLoop: 0) }
        var targets: [Int] = []
        for _ in 0..<4 {
            let target = counter.placement(acceptedOn: 0)
            #expect(target != 0)
            counter.handingOff(toLoop: target)
            targets.append(target)
        }
        #expect(targets.sorted() == [1, 1, 2, 2])
        #expect(counter.current == 10, "connections on their way count against the limit")
        for target in targets {
            counter.arrived(onLoop: target)
            counter.opened(onLoop: target)
        }
        #expect([0, 1, 2].map(counter.count(onLoop:)) == [6, 2, 2])
        #expect(counter.current == 10)
    }

    @Test("closing takes a connection off its loop and the total")
    func closing() {
        let counter = ConnectionCounter(loops: 2)
        _ = Self.accept([1, 1], into: counter)
        counter.closed(onLoop: 1)
        #expect(counter.count(onLoop: 1) == 1)
        #expect(counter.current == 1)
        // 0 against 1: even again, so the next one stays on loop 1.
        #expect(counter.placement(acceptedOn: 1) == 1)
    }
}
