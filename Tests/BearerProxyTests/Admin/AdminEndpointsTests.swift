@testable import BearerProxy
import Testing

@Suite("AdminEndpoints")
struct AdminEndpointsTests {
    static func request(_ method: String, _ target: String) throws -> LocalRequest {
        let raw = Array("\(method) \(target) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let head = try #require(try raw.withUnsafeBytes { try HeadParser.parseRequestHead($0, limits: .default) })
        return LocalRequest(head: head.head, body: [], peer: "127.0.0.1")
    }

    static let source = AdminSource(
        healthProblem: { "event loop 1 has not answered for 6 s" },
        readiness: { (false, [("reason", .string("no token fetched yet")), ("config_generation", .number(3)),
                              ("profiles", .object([("crm", .object([("state", .string("fetching"))]))]))]) },
        metrics: { Array("m 1\n".utf8) },
        status: { StatusPageTests.facts() })

    @Test("a stuck loop makes /healthz 503 with the reason")
    func unhealthy() throws {
        let response = AdminEndpoints.respond(to: try Self.request("GET", "/healthz"), source: Self.source)
        #expect(response.status == 503)
        #expect(String(decoding: response.body, as: UTF8.self).contains("event loop 1"))
    }

    @Test("/readyz writes numbers as numbers, text as strings and profiles as a nested object")
    func readyBody() throws {
        let response = AdminEndpoints.respond(to: try Self.request("GET", "/readyz?verbose"), source: Self.source)
        #expect(response.status == 503)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"status":"not_ready","reason":"no token fetched yet","config_generation":3,"profiles":{"crm":{"state":"fetching"}}}"# + "\n")
    }

    @Test("/metrics carries the Prometheus text content type; other methods get 405, other paths 404")
    func routing() throws {
        let metrics = AdminEndpoints.respond(to: try Self.request("GET", "/metrics"), source: Self.source)
        #expect(metrics.headerFields.first { $0.0 == "Content-Type" }?.1 == AdminEndpoints.prometheusContentType)
        #expect(AdminEndpoints.respond(to: try Self.request("POST", "/metrics"), source: Self.source).status == 405)
        #expect(AdminEndpoints.respond(to: try Self.request("GET", "/nope"), source: Self.source).status == 404)
    }
}
