import Synchronization

/// A Prometheus histogram of durations that the event loops record into without a lock and
/// without sharing a cache line. Each loop counts in its own shard (its index picks it; loops
/// that share a shard stay correct, since every update is an atomic add), and a scrape adds the
/// shards up. An observation costs a scan of the bounds and two relaxed adds on memory only its
/// loop writes; swift-prometheus's histogram took a lock shared by all loops and compared every
/// bucket as a `Duration`, about 700 instructions per observation, twice per request.
/// @unchecked Sendable: `cells` is allocated in `init` and freed in `deinit`; in between every
/// access to it is atomic.
final class LoopHistogram: @unchecked Sendable {
    /// Shards: a loop uses `index % shards`. Eight covers the loops a sidecar runs.
    static let shards = 8

    let name: String
    /// The series' labels as they appear between braces, e.g. `route="api"`.
    let labels: String
    private let bounds: [UInt64]
    /// Each bound as the text of its `le` label, in seconds.
    private let boundLabels: [String]
    /// Per shard: one count per bound and one above the last, then the sum in nanoseconds;
    /// rounded up to whole 64-byte cache lines so that shards never share one.
    private let stride: Int
    private let cells: UnsafeMutablePointer<Atomic<UInt64>>

    /// `bounds`: the upper bounds of the buckets, ascending.
    init(name: String, labels: String, bounds: [Duration]) {
        self.name = name
        self.labels = labels
        self.bounds = bounds.map(Self.nanoseconds)
        self.boundLabels = self.bounds.map { Self.seconds($0) }
        stride = (bounds.count + 2 + 7) / 8 * 8
        let count = Self.shards * stride
        cells = .allocate(capacity: count)
        for index in 0..<count { (cells + index).initialize(to: Atomic<UInt64>(0)) }
    }

    deinit {
        cells.deinitialize(count: Self.shards * stride)
        cells.deallocate()
    }

    func record(nanoseconds: UInt64, shard: Int) {
        let base = (shard % Self.shards) * stride
        var bucket = 0
        while bucket < bounds.count, nanoseconds > bounds[bucket] { bucket += 1 }
        cells[base + bucket].add(1, ordering: .relaxed)
        cells[base + bounds.count + 1].add(nanoseconds, ordering: .relaxed)
    }

    /// The counts per bucket (not cumulative; the last is above every bound) and the sum, over all shards.
    func snapshot() -> (buckets: [UInt64], sumNanoseconds: UInt64) {
        var buckets = [UInt64](repeating: 0, count: bounds.count + 1)
        var sum: UInt64 = 0
        for shard in 0..<Self.shards {
            let base = shard * stride
            for bucket in buckets.indices { buckets[bucket] &+= cells[base + bucket].load(ordering: .relaxed) }
            sum &+= cells[base + bounds.count + 1].load(ordering: .relaxed)
        }
        return (buckets, sum)
    }

    /// The series in the text format (0.0.4), as swift-prometheus writes a histogram: cumulative
    /// buckets, `+Inf`, then `_sum` in seconds and `_count`. The `# TYPE` line is the caller's.
    func emit(into out: inout [UInt8]) {
        let (buckets, sum) = snapshot()
        var cumulative: UInt64 = 0
        for (index, count) in buckets.enumerated() {
            cumulative &+= count
            let bound = index < boundLabels.count ? boundLabels[index] : "+Inf"
            out.append(contentsOf: "\(name)_bucket{\(labels),le=\"\(bound)\"} \(cumulative)\n".utf8)
        }
        out.append(contentsOf: "\(name)_sum{\(labels)} \(Self.seconds(sum))\n".utf8)
        out.append(contentsOf: "\(name)_count{\(labels)} \(cumulative)\n".utf8)
    }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    private static func seconds(_ nanoseconds: UInt64) -> String {
        "\(Double(nanoseconds) / 1e9)"
    }
}
