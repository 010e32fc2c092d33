/// What the admin endpoints report, supplied by whoever runs them (Admin knows nothing of Proxy).
struct AdminSource: Sendable {
    /// nil when alive; otherwise why not (`/healthz` answers 503 with it).
    var healthProblem: @Sendable () -> String?
    /// Whether proxied requests can succeed now, and the JSON fields that say why or why not.
    var readiness: @Sendable () -> (ready: Bool, fields: [(String, AdminValue)])
    /// The Prometheus text exposition.
    var metrics: @Sendable () -> [UInt8]
    /// What the status page shows besides the metrics.
    var status: @Sendable () -> StatusFacts
    /// The status page, with the sample its route rates are measured from.
    let page = StatusPage()
}

/// The admin listener: `/` (the status page, HTML for people), `/healthz` (the process and its
/// loops answer), `/readyz` (a valid token is cached and a configuration is in force, so proxied
/// requests will not wait or fail for lack of one) and `/metrics` (Prometheus text format).
enum AdminEndpoints {
    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    static func start(listen address: SocketAddress, group: EventLoopGroup, source: AdminSource) throws(IOError) -> LocalHTTPServer {
        try LocalHTTPServer(listen: address, group: group, label: "bearer-proxy.admin") { request in
            respond(to: request, source: source)
        }
    }

    static func respond(to request: LocalRequest, source: AdminSource) -> LocalResponse {
        let path = request.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        guard request.method == "GET" || request.method == "HEAD" else {
            return .json(405, "{\"error\":\"method_not_allowed\"}\n", extraFields: [("Allow", "GET, HEAD")])
        }
        switch path {
        case "/":
            let html = source.page.render(source.status(), metrics: PrometheusText(source.metrics()))
            return LocalResponse(status: 200, headerFields: [
                ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                ("Content-Security-Policy", StatusPage.contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
            ], body: Array(html.utf8))
        case "/healthz":
            if let problem = source.healthProblem() {
                return .json(503, "{\"status\":\"unhealthy\",\"reason\":\"\(JSONText.escaped(problem))\"}\n")
            }
            return .json(200, "{\"status\":\"ok\"}\n")
        case "/readyz":
            let (ready, fields) = source.readiness()
            return .json(ready ? 200 : 503, AdminValue.object([("status", .string(ready ? "ready" : "not_ready"))] + fields).text + "\n")
        case "/metrics":
            return LocalResponse(status: 200, headerFields: [("Content-Type", prometheusContentType)], body: source.metrics())
        default:
            return .json(404, "{\"error\":\"not_found\"}\n")
        }
    }

}

/// A value in an admin JSON answer; object members keep their order.
enum AdminValue: Sendable, Equatable {
    case string(String)
    case number(Int)
    case bool(Bool)
    case object([(String, AdminValue)])

    var text: String {
        switch self {
        case .string(let value): return "\"\(JSONText.escaped(value))\""
        case .number(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .object(let members):
            return "{" + members.map { "\"\(JSONText.escaped($0.0))\":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    static func == (a: AdminValue, b: AdminValue) -> Bool { a.text == b.text }
}
