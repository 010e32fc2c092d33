@testable import BearerProxy
import Testing
#if canImport(Glibc)
import CMalloc
import Glibc
#endif

@Suite("HeapTrimmer")
struct HeapTrimmerTests {
    static let mebibyte = 1 << 20

    @Test("trims once free memory grew by the threshold: after a burst, not under steady load")
    func rule() {
        var rule = HeapTrimmer.Rule(threshold: 4 * Self.mebibyte, free: 2 * Self.mebibyte)
        func trims(_ mebibytes: Int) -> Bool { rule.shouldTrim(free: mebibytes * Self.mebibyte) }
        // Steady load: the free bytes move, but never 4 MiB above where they were.
        let steady = [3, 5, 2, 4, 5].map(trims)
        #expect(steady == [false, false, false, false, false])
        // A burst ends: 14 MiB free against a low of 2, then the same bytes read again (trimming
        // leaves them free) and a little more: not a new burst.
        let burst = [14, 14, 17].map(trims)
        #expect(burst == [true, false, false])
        // The memory is used again, then freed again: its pages are back, so that is trimmed.
        let reused = [3, 9].map(trims)
        #expect(reused == [false, true])
        let baseline = rule.baseline
        #expect(baseline == 9 * Self.mebibyte)
    }

    #if canImport(Glibc)
    @Test("with glibc there is a trimmer, and the free bytes it reads follow the heap")
    func startsOnGlibc() throws {
        let trimmer = try #require(HeapTrimmer())
        trimmer.tick()
        // Under a sanitizer (`swift test --sanitize=thread` in CI) its own allocator stands in
        // for glibc's, and glibc's heap does not see these blocks: nothing to follow then.
        let symbols: [String] = ["__tsan_init", "__asan_init"]
        let sanitized = symbols.contains { dlsym(UnsafeMutableRawPointer(bitPattern: 0), $0) != nil }
        guard !sanitized else { return }
        // Blocks above the mmap threshold would bypass the heap: stay well below it.
        let blocks = (0..<512).map { _ in UnsafeMutableRawPointer.allocate(byteCount: 16 << 10, alignment: 16) }
        for block in blocks { block.storeBytes(of: 1, as: UInt8.self) }
        let before = HeapTrimmer.freeBytes()
        // Every other block freed: free memory between live blocks, which only a trim returns.
        for (index, block) in blocks.enumerated() where index % 2 == 0 { block.deallocate() }
        let after = HeapTrimmer.freeBytes()
        // 4 MiB freed; other tests run beside this one and take some free chunks meanwhile, so
        // half of it is what must show.
        #expect(after - before >= 128 * (16 << 10))
        trimmer.tick()  // 4 MiB freed: trims (nothing to observe but that it returns)
        for (index, block) in blocks.enumerated() where index % 2 == 1 { block.deallocate() }
    }
    #endif
}
