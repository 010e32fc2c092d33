/// The handlers registered with one loop, found by the token stored in their epoll events.
///
/// A token is a slot index (low 32 bits) and the slot's generation (high 32 bits). A slot is
/// reused after its handler is removed, under the next generation, so an event still queued for
/// a descriptor closed earlier in the batch names a generation that is gone and finds nothing.
/// Finding a handler is an array index and one comparison; a dictionary cost a hash per event.
/// Used only on its loop's queue.
struct HandlerTable {
    private var slots: [Slot] = []
    private var free: [UInt32] = []

    private struct Slot {
        var generation: UInt32 = 0
        var handler: (any EventHandler)?
    }

    /// Number of handlers registered.
    private(set) var count = 0

    mutating func insert(_ handler: any EventHandler) -> UInt64 {
        let index: UInt32
        if let reused = free.popLast() {
            index = reused
        } else {
            index = UInt32(slots.count)
            slots.append(Slot())
        }
        slots[Int(index)].handler = handler
        count += 1
        return UInt64(slots[Int(index)].generation) << 32 | UInt64(index)
    }

    subscript(token: UInt64) -> (any EventHandler)? {
        let index = Int(truncatingIfNeeded: token & 0xFFFF_FFFF)
        guard index < slots.count, slots[index].generation == UInt32(truncatingIfNeeded: token >> 32) else { return nil }
        return slots[index].handler
    }

    mutating func remove(_ token: UInt64) {
        let index = Int(truncatingIfNeeded: token & 0xFFFF_FFFF)
        guard index < slots.count, slots[index].generation == UInt32(truncatingIfNeeded: token >> 32),
              slots[index].handler != nil else { return }
        slots[index].handler = nil
        slots[index].generation &+= 1
        free.append(UInt32(index))
        count -= 1
    }
}
