import BearerSync

/// `GET /` on the admin listener: one server-rendered HTML page for an operator at a
/// `kubectl port-forward`. Inline CSS, no script, no external resource (a Content-Security-Policy
/// forbids them), a refresh every 5 s, readable from 320 px up.
///
/// Route figures come from the metrics text itself (`PrometheusText`), over the window since the
/// previous view (at least one second), or since start on the first. Everything shown is escaped.
/// Sendable: the previous sample is behind its lock.
final class StatusPage: Sendable {
    static let refreshSeconds = 5
    static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

    private struct RouteSample {
        var requests: Double
        var clientErrors: Double
        var serverErrors: Double
        var buckets: [(bound: Double, count: Double)]
    }

    private let previous = Locked<(at: Double, routes: [String: RouteSample])?>(nil)

    func render(_ facts: StatusFacts, metrics: PrometheusText) -> String {
        var html = Self.head(facts)
        html += profilesSection(facts)
        html += routesSection(facts, metrics: metrics)
        html += failuresSection(facts)
        html += configurationSection(facts)
        html += "</main></body></html>\n"
        return html
    }

    // MARK: Sections

    private static func head(_ facts: StatusFacts) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="refresh" content="\(refreshSeconds)">
        <title>bearer-proxy status</title>
        <style>\(css)</style></head>
        <body><main>
        <header><h1>bearer-proxy</h1><p>\(escape(facts.version)) · generation \(facts.generation) · up \(duration(facts.uptimeSeconds)) · \(clock(facts.now)) UTC · refreshes every \(refreshSeconds) s</p></header>

        """
    }

    private func profilesSection(_ facts: StatusFacts) -> String {
        var html = "<section><h2>Tokens</h2>"
        for profile in facts.profiles {
            html += "<div class=\"card\"><div class=\"title\"><strong>\(Self.escape(profile.name))</strong> "
            html += "<span class=\"badge \(Self.escape(profile.state))\">\(Self.escape(profile.state))</span></div>"
            if let left = profile.secondsLeft, let lifetime = profile.lifetimeSeconds, lifetime > 0 {
                let remaining = min(100, max(0, left / lifetime * 100))
                let refreshAt = min(100, max(0, (left - (profile.secondsUntilRefresh ?? 0)) / lifetime * 100))
                html += "<div class=\"bar\" role=\"img\" aria-label=\"time left\"><div class=\"left\" style=\"width:\(Self.percent(remaining))%\"></div>"
                html += "<div class=\"refresh\" style=\"left:\(Self.percent(refreshAt))%\" title=\"refresh point\"></div></div>"
                html += "<p>expires in \(Self.duration(left)) of \(Self.duration(lifetime))"
                if let refresh = profile.secondsUntilRefresh { html += "; refresh in \(Self.duration(refresh))" }
                html += "</p>"
            }
            html += "<dl>"
            if let at = profile.lastFetchAt {
                let outcome = profile.lastFetchSucceeded == true ? "ok" : "failed"
                html += Self.item("last fetch", "\(Self.clock(at)) UTC (\(Self.duration(max(0, facts.now - at))) ago), \(outcome)")
            } else {
                html += Self.item("last fetch", "none yet")
            }
            if let error = profile.lastError { html += Self.item("last error", error, class: "error") }
            if let retry = profile.secondsUntilRetry { html += Self.item("next attempt", "in \(Self.duration(retry)) (backoff)") }
            html += Self.item("token requests", String(profile.tokenRequests))
            if let jwtID = profile.jwtID { html += Self.item("jti", jwtID, class: "mono") }
            html += Self.item("scope", profile.scope ?? "-")
            if let shared = profile.sharedCache { html += Self.item("shared cache", shared) }
            html += "</dl></div>"
        }
        return html + "</section>\n"
    }

    private func routesSection(_ facts: StatusFacts, metrics: PrometheusText) -> String {
        var current: [String: RouteSample] = [:]
        for route in facts.routes {
            let match = ["route": route.label]
            current[route.label] = RouteSample(
                requests: metrics.sum("bearer_proxy_requests_total", match),
                clientErrors: metrics.sum("bearer_proxy_requests_total", ["route": route.label, "status_class": "4xx"]),
                serverErrors: metrics.sum("bearer_proxy_requests_total", ["route": route.label, "status_class": "5xx"]),
                buckets: metrics.buckets("bearer_proxy_request_duration_seconds", match))
        }
        let base: (at: Double, routes: [String: RouteSample])? = previous.withLock { previous in
            let base = previous
            // Keep a sample at least a second old, so a quick reload does not shrink the window to nothing.
            if previous.map({ facts.now - $0.at >= 1 }) ?? true { previous = (facts.now, current) }
            return base
        }
        let window = base.map { max(facts.now - $0.at, 0.001) } ?? max(facts.uptimeSeconds, 0.001)
        var html = "<section><h2>Routes</h2><p class=\"note\">over the last \(Self.duration(window))</p><div class=\"scroll\"><table>"
        html += "<tr><th>route</th><th>upstream</th><th>req/s</th><th>4xx</th><th>5xx</th><th>p50</th><th>p99</th>"
        html += "<th>upstream conns open</th><th>idle</th><th>opened</th><th>TLS failures</th></tr>"
        for route in facts.routes {
            guard let now = current[route.label] else { continue }
            let before = base?.routes[route.label]
            let requests = now.requests - (before?.requests ?? 0)
            let clientErrors = now.clientErrors - (before?.clientErrors ?? 0)
            let serverErrors = now.serverErrors - (before?.serverErrors ?? 0)
            let buckets = now.buckets.map { bucket in
                (bound: bucket.bound, count: bucket.count - (before?.buckets.first { $0.bound == bucket.bound }?.count ?? 0))
            }
            let match = ["route": route.label]
            html += "<tr><td>\(Self.escape(route.label))</td><td class=\"mono\">\(Self.escape(route.upstream))</td>"
            html += "<td>\(Self.decimal(requests / window))</td>"
            html += "<td>\(Self.share(clientErrors, of: requests))</td><td class=\"\(serverErrors > 0 ? "error" : "")\">\(Self.share(serverErrors, of: requests))</td>"
            html += "<td>\(Self.latency(PrometheusText.quantile(0.5, buckets)))</td><td>\(Self.latency(PrometheusText.quantile(0.99, buckets)))</td>"
            if route.hasUpstream {
                for name in ["bearer_proxy_route_upstream_open_connections", "bearer_proxy_route_upstream_idle_connections",
                             "bearer_proxy_route_upstream_connections_created_total", "bearer_proxy_route_upstream_tls_failures_total"] {
                    html += "<td>\(Self.whole(metrics.sum(name, match)))</td>"
                }
            } else {
                html += "<td>-</td><td>-</td><td>-</td><td>-</td>"
            }
            html += "</tr>"
        }
        return html + "</table></div></section>\n"
    }

    private func failuresSection(_ facts: StatusFacts) -> String {
        var html = "<section><h2>Recent failed requests</h2>"
        guard !facts.failures.isEmpty else { return html + "<p class=\"note\">none since start</p></section>\n" }
        html += "<div class=\"scroll\"><table><tr><th>time (UTC)</th><th>method</th><th>path</th><th>status</th><th>reason</th></tr>"
        for failure in facts.failures {
            html += "<tr><td>\(Self.clock(Double(failure.time) / 1000))</td><td>\(Self.escape(failure.method))</td>"
            html += "<td class=\"mono\">\(Self.escape(failure.path))</td><td>\(failure.status == 0 ? "-" : String(failure.status))</td>"
            html += "<td>\(Self.escape(failure.reason))</td></tr>"
        }
        return html + "</table></div></section>\n"
    }

    private func configurationSection(_ facts: StatusFacts) -> String {
        var html = "<section><h2>Configuration</h2><dl>"
        html += Self.item("generation", String(facts.generation))
        html += Self.item("last reload", facts.lastReloadAt.map { "\(Self.clock($0)) UTC" } ?? "none since start")
        if let rejected = facts.lastRejectedReload {
            html += Self.item("last rejected reload", "\(Self.clock(rejected.at)) UTC: \(rejected.reason)", class: "error")
        }
        html += Self.item("version", facts.version)
        html += Self.item("OpenSSL", facts.openSSL)
        html += Self.item("uptime", Self.duration(facts.uptimeSeconds))
        return html + "</dl></section>\n"
    }

    // MARK: Text

    /// HTML-escapes `text` for element content and quoted attributes.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character.properties.generalCategory == .control ? "?" : character)
            }
        }
        return out
    }

    private static func item(_ name: String, _ value: String, class className: String? = nil) -> String {
        "<dt>\(escape(name))</dt><dd\(className.map { " class=\"\($0)\"" } ?? "")>\(escape(value))</dd>"
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let whole = Int(seconds.rounded())
        if whole < 120 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        if whole < 172_800 { return "\(whole / 3600) h \(whole % 3600 / 60) min" }
        return "\(whole / 86400) d \(whole % 86400 / 3600) h"
    }

    /// `HH:MM:SS` of a time in seconds since 1970, UTC.
    static func clock(_ seconds: Double) -> String {
        let day = Int(seconds.rounded(.down)) % 86400
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(two(day / 3600)):\(two(day % 3600 / 60)):\(two(day % 60))"
    }

    private static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func whole(_ value: Double) -> String { value.isFinite ? String(Int(value.rounded())) : "-" }

    private static func percent(_ value: Double) -> String { decimal(value) }

    private static func share(_ part: Double, of total: Double) -> String {
        total > 0 ? decimal(part / total * 100) + " %" : "-"
    }

    private static func latency(_ seconds: Double?) -> String {
        guard let seconds else { return "-" }
        return seconds < 1 ? decimal(seconds * 1000) + " ms" : decimal(seconds) + " s"
    }

    private static let css = """
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}\
        main{max-width:1100px;margin:0 auto;padding:12px}header h1{font-size:1.4em;margin:.2em 0}header p{margin:0;color:#5a6272}\
        h2{font-size:1.1em;margin:1.2em 0 .4em}section{margin-bottom:1em}\
        .card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:10px 12px;margin:8px 0}\
        .title{display:flex;gap:8px;align-items:center;flex-wrap:wrap}\
        .badge{border-radius:10px;padding:1px 9px;font-size:.85em;color:#fff;background:#6b7280}\
        .badge.valid{background:#15803d}.badge.refreshing{background:#2563eb}.badge.fetching{background:#a16207}.badge.failing{background:#b91c1c}\
        .bar{position:relative;height:12px;background:#e5e7eb;border-radius:6px;margin:8px 0 2px;overflow:hidden}\
        .bar .left{height:100%;background:#22c55e}.bar .refresh{position:absolute;top:0;bottom:0;width:2px;background:#1d4ed8}\
        dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0 0}dt{color:#5a6272}dd{margin:0;overflow-wrap:anywhere}\
        .error{color:#b91c1c}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;overflow-wrap:anywhere}\
        .note{color:#5a6272;margin:0 0 4px}.scroll{overflow-x:auto;background:#fff;border:1px solid #dde1e8;border-radius:8px}\
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f4;white-space:nowrap}\
        td.mono{white-space:normal;min-width:12em}th{font-weight:600;color:#5a6272;font-size:.9em}\
        @media (max-width:600px){body{font-size:14px}main{padding:8px}dl{grid-template-columns:1fr}dt{margin-top:4px}}
        """
}
