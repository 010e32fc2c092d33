@testable import BearerProxy
import Foundation
import Testing

@Suite("deploy/grafana-dashboard.json")
struct GrafanaDashboardTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deploy/grafana-dashboard.json").path

    /// Every `expr` of every panel.
    static func expressions() throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let json = try JSONSerialization.jsonObject(with: data)
        var found: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let expr = object["expr"] as? String { found.append(expr) }
                object.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(json)
        return found
    }

    /// The metric names `exposition` has samples or a TYPE line for, with every handle made.
    static func exportedNames() -> Set<String> {
        let metrics = ProxyMetrics()
        metrics.requests(route: "api").record(methodIndex: 0, status: 200, durationNanoseconds: 1_000_000, upstreamNanoseconds: 900_000,
                                              bytesIn: 1, bytesOut: 1)
        _ = metrics.sharedCache(profile: "default")
        metrics.refresh(profiles: [("default", TokenMetrics.Reading(source: ObjectIdentifier(metrics), valid: true, secondsUntilExpiry: 10,
                                                                  fetchesSucceeded: 1, fetchesFailed: 1))], generation: 1)
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        var names = Set(PrometheusText(Array(text.utf8)).samples.map(\.name))
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            names.insert(String(line.split(separator: " ")[2]))
        }
        return names
    }

    @Test("every metric the dashboard queries is one the proxy exports (a renamed metric fails here, not in Grafana)")
    func queriesExportedMetrics() throws {
        let expressions = try Self.expressions()
        #expect(expressions.count >= 15)
        let exported = Self.exportedNames()
        let pattern = try Regex("bearer_proxy_[a-z0-9_]+")
        var queried = Set<String>()
        for expr in expressions {
            for match in expr.matches(of: pattern) { queried.insert(String(expr[match.range])) }
        }
        for name in queried.sorted() {
            #expect(exported.contains(name), "the dashboard queries \(name), which the proxy does not export")
        }
        // What the dashboard is for: each of these is on it.
        for needed in ["bearer_proxy_requests_total", "bearer_proxy_request_duration_seconds_bucket", "bearer_proxy_token_valid",
                       "bearer_proxy_token_seconds_until_expiry", "bearer_proxy_token_fetches_total",
                       "bearer_proxy_upstream_pool_idle_connections", "bearer_proxy_config_reloads_total"] {
            #expect(queried.contains(needed), "the dashboard has no panel for \(needed)")
        }
    }
}
