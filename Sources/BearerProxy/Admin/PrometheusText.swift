/// The Prometheus text exposition read back into samples, so the status page shows exactly what
/// `/metrics` says, without a second path into the counters.
struct PrometheusText: Sendable {
    struct Sample: Sendable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample]

    init(_ bytes: [UInt8]) {
        samples = String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap(Self.sample)
    }

    /// `name{a="x",b="y"} 12.5`; nil for comments and anything else.
    private static func sample(_ line: Substring) -> Sample? {
        guard let first = line.first, first != "#", let space = line.lastIndex(of: " "),
              let value = Double(line[line.index(after: space)...]) else { return nil }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else {
            return Sample(name: String(series), labels: [:], value: value)
        }
        var labels: [String: String] = [:]
        var rest = series[series.index(after: brace)...].dropLast()  // without the closing brace
        while let equals = rest.firstIndex(of: "=") {
            let name = String(rest[..<equals])
            var cursor = rest.index(after: equals)
            guard cursor < rest.endIndex, rest[cursor] == "\"" else { break }
            cursor = rest.index(after: cursor)
            var text = ""
            while cursor < rest.endIndex, rest[cursor] != "\"" {
                if rest[cursor] == "\\", rest.index(after: cursor) < rest.endIndex {
                    cursor = rest.index(after: cursor)
                    text.append(rest[cursor] == "n" ? "\n" : rest[cursor])
                } else {
                    text.append(rest[cursor])
                }
                cursor = rest.index(after: cursor)
            }
            labels[name] = text
            rest = rest[min(rest.index(after: cursor), rest.endIndex)...].drop { $0 == "," }
        }
        return Sample(name: String(series[..<brace]), labels: labels, value: value)
    }

    /// The sum of `name` over the samples whose labels include `matching`.
    func sum(_ name: String, _ matching: [String: String] = [:]) -> Double {
        samples.lazy.filter { sample in
            sample.name == name && matching.allSatisfy { key, value in sample.labels[key] == value }
        }.reduce(0) { $0 + $1.value }
    }

    /// The cumulative bucket counts of histogram `name` for `matching`, by upper bound, ascending.
    func buckets(_ name: String, _ matching: [String: String]) -> [(bound: Double, count: Double)] {
        var byBound: [Double: Double] = [:]
        for sample in samples where sample.name == name + "_bucket" && matching.allSatisfy({ sample.labels[$0.key] == $0.value }) {
            guard let text = sample.labels["le"], let bound = text == "+Inf" ? Double.infinity : Double(text) else { continue }
            byBound[bound, default: 0] += sample.value
        }
        return byBound.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The `q` quantile of a histogram's cumulative buckets, interpolated within the bucket as
    /// Prometheus's `histogram_quantile` does; nil without observations. The +Inf bucket answers
    /// with the highest finite bound.
    static func quantile(_ q: Double, _ buckets: [(bound: Double, count: Double)]) -> Double? {
        guard let total = buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var previous = (bound: 0.0, count: 0.0)
        for bucket in buckets {
            if bucket.count >= rank {
                if bucket.bound.isInfinite { return previous.bound }
                let inBucket = bucket.count - previous.count
                guard inBucket > 0 else { return bucket.bound }
                return previous.bound + (bucket.bound - previous.bound) * (rank - previous.count) / inBucket
            }
            previous = bucket
        }
        return previous.bound
    }
}
