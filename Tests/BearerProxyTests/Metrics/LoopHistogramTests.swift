@testable import BearerProxy
import Testing

@Suite("Duration histograms recorded per loop")
struct LoopHistogramTests {
    @Test("every loop's observations add up, a value on a bound counts in that bucket, and the text is Prometheus's")
    func shardsAddUp() {
        let histogram = LoopHistogram(name: "t_seconds", labels: #"route="a""#, bounds: [.milliseconds(1), .milliseconds(10)])
        for loop in 0..<(LoopHistogram.shards + 3) {
            histogram.record(nanoseconds: 1_000_000, shard: loop)  // exactly 1 ms: le="0.001"
        }
        histogram.record(nanoseconds: 5_000_000, shard: 1)
        histogram.record(nanoseconds: 60_000_000_000, shard: 2)
        let (buckets, sum) = histogram.snapshot()
        #expect(buckets == [UInt64(LoopHistogram.shards + 3), 1, 1])
        #expect(sum == UInt64(LoopHistogram.shards + 3) * 1_000_000 + 5_000_000 + 60_000_000_000)
        var out: [UInt8] = []
        histogram.emit(into: &out)
        let n = LoopHistogram.shards + 3
        #expect(String(decoding: out, as: UTF8.self) == """
            t_seconds_bucket{route="a",le="0.001"} \(n)
            t_seconds_bucket{route="a",le="0.01"} \(n + 1)
            t_seconds_bucket{route="a",le="+Inf"} \(n + 2)
            t_seconds_sum{route="a"} \(Double(sum) / 1e9)
            t_seconds_count{route="a"} \(n + 2)

            """)
    }

    @Test("loops recording at once lose nothing")
    func concurrentLoops() async {
        let histogram = LoopHistogram(name: "t_seconds", labels: #"route="a""#, bounds: [.milliseconds(1)])
        await withTaskGroup(of: Void.self) { group in
            for loop in 0..<4 {
                group.addTask { for _ in 0..<10_000 { histogram.record(nanoseconds: 2_000_000, shard: loop % 2) } }
            }
        }
        #expect(histogram.snapshot().buckets == [0, 40_000])
    }
}
