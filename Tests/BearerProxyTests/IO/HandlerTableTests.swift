@testable import BearerProxy
import Testing

@Suite("HandlerTable: the loop's handlers by epoll token")
struct HandlerTableTests {
    final class Handler: EventHandler {
        func handleEvents(_ ready: Readiness) {}
        func runDeferred() {}
    }

    @Test("a removed handler's token finds nothing, even once its slot holds another handler")
    func staleTokens() {
        var table = HandlerTable()
        let a = Handler(), b = Handler(), c = Handler()
        let ta = table.insert(a)
        let tb = table.insert(b)
        #expect(ta != tb)
        #expect(table[ta] === a && table[tb] === b)
        table.remove(ta)
        #expect(table[ta] == nil)
        #expect(table.count == 1)
        let tc = table.insert(c)
        #expect(tc != ta, "the slot is reused under a new token")
        #expect(table[tc] === c && table[ta] == nil && table[tb] === b)
        // Removing a stale token twice changes nothing.
        table.remove(ta)
        table.remove(ta)
        #expect(table[tc] === c && table.count == 2)
        #expect(table[UInt64.max] == nil && table[12345] == nil)
    }

    @Test("a thousand handlers in and out keep their tokens apart")
    func churn() {
        var table = HandlerTable()
        var live: [(UInt64, Handler)] = []
        var seen = Set<UInt64>()
        for round in 0..<1000 {
            let handler = Handler()
            let token = table.insert(handler)
            #expect(seen.insert(token).inserted, "token \(token) handed out twice")
            live.append((token, handler))
            if round % 3 == 2 {
                let (gone, _) = live.removeFirst()
                table.remove(gone)
                #expect(table[gone] == nil)
            }
        }
        for (token, handler) in live { #expect(table[token] === handler) }
        #expect(table.count == live.count)
    }
}
