@testable import BearerProxy
import Dispatch
import Testing

@Suite("Status page and the metrics text it reads")
struct StatusPageTests {
    static func facts(failures: [StatusFacts.Failure] = [], profileName: String = "default",
                      lastError: String? = nil) -> StatusFacts {
        StatusFacts(
            profiles: [StatusFacts.Profile(name: profileName, state: lastError == nil ? "valid" : "failing", secondsLeft: 240,
                                           lifetimeSeconds: 300, secondsUntilRefresh: 210, lastFetchAt: 1_700_000_000,
                                           lastFetchSucceeded: true, lastError: lastError, secondsUntilRetry: nil, tokenRequests: 3,
                                           jwtID: "jti-42", scope: "read write", sharedCache: nil)],
            routes: [StatusFacts.Route(label: "api", upstream: "https://api.example.com")],
            failures: failures, generation: 2, lastReloadAt: 1_700_000_100,
            lastRejectedReload: (1_700_000_200, "proxy.conf:3: token.url: scheme must be https"),
            version: "0.1.0", openSSL: "OpenSSL 3.0.19 27 Jan 2026", uptimeSeconds: 3725, now: 1_700_000_060)
    }

    static let metricsText = """
        # TYPE bearer_proxy_requests_total counter
        bearer_proxy_requests_total{route="api",method="GET",status_class="2xx"} 90
        bearer_proxy_requests_total{route="api",method="POST",status_class="5xx"} 10
        bearer_proxy_requests_total{route="other",method="GET",status_class="2xx"} 7
        bearer_proxy_request_duration_seconds_bucket{route="api",le="0.001"} 50
        bearer_proxy_request_duration_seconds_bucket{route="api",le="0.01"} 99
        bearer_proxy_request_duration_seconds_bucket{route="api",le="+Inf"} 100
        bearer_proxy_route_upstream_idle_connections{route="api"} 4
        bearer_proxy_route_upstream_tls_failures_total{route="api"} 1
        """

    @Test("the metrics text is read back: sums over labels, histogram buckets and quantiles as histogram_quantile computes them")
    func readsMetrics() {
        let text = PrometheusText(Array(Self.metricsText.utf8))
        #expect(text.sum("bearer_proxy_requests_total", ["route": "api"]) == 100)
        #expect(text.sum("bearer_proxy_requests_total", ["route": "api", "status_class": "5xx"]) == 10)
        #expect(text.sum("bearer_proxy_requests_total") == 107)
        let buckets = text.buckets("bearer_proxy_request_duration_seconds", ["route": "api"])
        #expect(buckets.map(\.bound) == [0.001, 0.01, .infinity])
        #expect(PrometheusText.quantile(0.5, buckets) == 0.001)
        let p99 = PrometheusText.quantile(0.99, buckets) ?? 0
        #expect(abs(p99 - 0.01) < 1e-9)
        #expect(PrometheusText.quantile(0.999, buckets) == 0.01, "the +Inf bucket answers with the highest finite bound")
        #expect(PrometheusText.quantile(0.5, []) == nil)
        let escaped = PrometheusText(Array(#"m{a="x\"y",b="z"} 2"#.utf8))
        #expect(escaped.samples.first?.labels == ["a": "x\"y", "b": "z"])
    }

    @Test("the page shows each section's facts, and route figures from the metrics")
    func rendersSections() {
        let page = StatusPage()
        let failure = StatusFacts.Failure(time: 1_700_000_050_000, status: 502, method: "POST", path: "/orders", reason: "upstream_unreachable")
        let html = page.render(Self.facts(failures: [failure]), metrics: PrometheusText(Array(Self.metricsText.utf8)))
        for text in ["bearer-proxy", "generation 2", "up 1 h 2 min", "valid", "expires in 4 min 0 s of 5 min 0 s", "refresh in 3 min 30 s",
                     "jti-42", "read write", "token requests", "api", "https://api.example.com", "10.0 %", "1.0 ms", "10.0 ms",
                     "<td>4</td>", "POST", "/orders", "502", "upstream_unreachable", "OpenSSL 3.0.19",
                     "proxy.conf:3: token.url: scheme must be https", "http-equiv=\"refresh\""] {
            #expect(html.contains(text), "missing \(text)")
        }
        #expect(!html.contains("<script"), "no script")
        #expect(!html.contains("http://") && !html.contains("src="), "no external resource")
    }

    @Test("every text from outside is escaped: a profile name, an error or a path cannot inject markup")
    func escapes() {
        let failure = StatusFacts.Failure(time: 0, status: 400, method: "GET", path: "/<script>alert(1)</script>", reason: "bad_request")
        let html = StatusPage().render(Self.facts(failures: [failure], profileName: "a\"><img src=x>", lastError: "rejected: <b>no</b> & \"quoted\""),
                                       metrics: PrometheusText([]))
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<img src=x>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("rejected: &lt;b&gt;no&lt;/b&gt; &amp; &quot;quoted&quot;"))
    }

    @Test("the ring under concurrent writers: a reader sees only whole records, never one torn between two writes")
    func ringUnderConcurrency() async {
        let ring = RecentFailures()
        let writers = 4
        let done = DispatchGroup()
        for writer in 0..<writers {
            DispatchQueue.global().async(group: done) {
                for index in 0..<3000 {
                    let tag = "w\(writer)-\(index)"
                    ring.add(time: UInt64(index), status: 500 + writer, method: Array("GET".utf8), path: Array("/\(tag)".utf8), reason: tag)
                }
            }
        }
        var seen = 0
        while done.wait(timeout: .now()) == .timedOut {
            for record in ring.newest(20) {
                seen += 1
                #expect(record.path == "/" + record.reason, "torn record: \(record)")
                #expect(record.reason.hasPrefix("w\(record.status - 500)-"), "torn record: \(record)")
            }
        }
        #expect(ring.newest(20).count == 20)
        #expect(seen > 0)
    }

    @Test("the recent-failures ring keeps the newest records, drops the query, and cuts long text")
    func ring() {
        let ring = RecentFailures()
        for index in 0..<(RecentFailures.capacity + 5) {
            ring.add(time: UInt64(index), status: 500 + index % 5, method: Array("GET".utf8), path: Array("/p/\(index)?token=secret".utf8),
                     reason: "r\(index)")
        }
        let newest = ring.newest(20)
        #expect(newest.count == 20)
        #expect(newest.first?.path == "/p/\(RecentFailures.capacity + 4)")
        #expect(newest.first?.time == UInt64(RecentFailures.capacity + 4))
        #expect(newest.allSatisfy { !$0.path.contains("?") && !$0.path.contains("secret") })
        ring.add(time: 1, status: 404, method: Array("GET".utf8), path: Array(String(repeating: "x", count: 500).utf8), reason: "not_found")
        #expect(ring.newest(1).first?.path.count == RecentFailures.pathBytes)
    }
}
