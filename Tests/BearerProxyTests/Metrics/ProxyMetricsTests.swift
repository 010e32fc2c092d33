@testable import BearerProxy
import Testing

@Suite("ProxyMetrics")
struct ProxyMetricsTests {
    @Test("known methods get their own label; anything else is 'other', so label cardinality stays bounded")
    func methodIndex() {
        func index(_ method: String) -> String { ProxyMetrics.methods[ProxyMetrics.methodIndex(Array(method.utf8)[...])] }
        #expect(index("GET") == "GET")
        #expect(index("OPTIONS") == "OPTIONS")
        #expect(index("DELETE") == "DELETE")
        #expect(index("get") == "other")  // RFC 9110 §9.1: case-sensitive
        #expect(index("PROPFIND") == "other")
        #expect(index("GE") == "other")
        #expect(index("GETS") == "other")
        #expect(index("") == "other")
        // As the session passes it: a slice of the head's bytes, not starting at 0.
        let raw = Array("PATCH /x HTTP/1.1".utf8)
        #expect(ProxyMetrics.methods[ProxyMetrics.methodIndex(raw[0..<5])] == "PATCH")
        #expect(ProxyMetrics.methods[ProxyMetrics.methodIndex(raw[1..<5])] == "other")
    }

    @Test("a recorded request moves its counter, both histograms and the byte counters")
    func recordRequest() {
        let metrics = ProxyMetrics()
        let payments = metrics.requests(route: "payments")
        payments.record(methodIndex: 0, status: 503, durationNanoseconds: 2_000_000, upstreamNanoseconds: 1_000_000, bytesIn: 3, bytesOut: 7)
        payments.record(methodIndex: 7, status: 42, durationNanoseconds: 1_000, upstreamNanoseconds: nil, bytesIn: 0, bytesOut: 0)
        metrics.unrouted.record(methodIndex: 0, status: 404, durationNanoseconds: 1_000, upstreamNanoseconds: nil, bytesIn: 0, bytesOut: 0)
        #expect(metrics.requests(route: "payments") === payments)  // one series per label, across reloads
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(text.contains(#"bearer_proxy_requests_total{route="payments",method="GET",status_class="5xx"} 1"#))
        #expect(text.contains(#"bearer_proxy_requests_total{route="payments",method="other",status_class="other"} 1"#))
        #expect(text.contains(#"bearer_proxy_requests_total{route="none",method="GET",status_class="4xx"} 1"#))
        #expect(text.contains(#"bearer_proxy_request_duration_seconds_count{route="payments"} 2"#))
        #expect(text.contains(#"bearer_proxy_upstream_duration_seconds_count{route="payments"} 1"#))
        #expect(text.contains(#"bearer_proxy_request_body_bytes_total{route="payments"} 3"#))
        #expect(text.contains(#"bearer_proxy_response_body_bytes_total{route="payments"} 7"#))
    }
}
