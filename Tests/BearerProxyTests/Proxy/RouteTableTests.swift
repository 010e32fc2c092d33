@testable import BearerProxy
import Testing

@Suite("Route table")
struct RouteTableTests {
    /// The routes of a sidecar in front of three APIs, in an order that is not the matching order.
    static let matches = [
        RouteMatch(pathPrefix: "/"),                                   // 0: everything else
        RouteMatch(pathPrefix: "/payments/"),                          // 1
        RouteMatch(host: "crm.example.com"),                           // 2
        RouteMatch(pathPrefix: "/payments/refunds"),                   // 3: longer prefix wins
        RouteMatch(host: "crm.example.com", pathPrefix: "/v2"),        // 4
        RouteMatch(host: "crm.example.com", port: 8443),               // 5
        RouteMatch(host: "::1", port: 9000, pathPrefix: "/six"),       // 6
    ]

    func route(_ table: RouteTable, host: String?, _ path: String, defaultPort: UInt16 = 80) -> Int? {
        var name: String?
        var port: UInt16?
        if let host { (name, port) = HostAllowlist.split(ArraySlice(host.utf8))! }
        return table.route(name: name, port: port, defaultPort: defaultPort, path: ArraySlice(path.utf8))
    }

    @Test("host routes first, then the longest prefix on a segment boundary; the order of the routes does not matter")
    func choice() {
        let cases: [(String?, String, Int?)] = [
            ("localhost:8080", "/payments/x", 1),
            ("localhost:8080", "/payments/refunds/7", 3),
            ("localhost:8080", "/payments/refundsx", 1),     // not a segment boundary: the shorter prefix
            ("localhost:8080", "/payments", 0),              // "/payments/" does not take "/payments"
            ("localhost:8080", "/paymentsx", 0),
            ("crm.example.com", "/payments/x", 2),           // a host route beats a path route
            ("CRM.Example.COM:80", "/v2/contacts", 4),
            ("crm.example.com", "/v2", 4),
            ("crm.example.com", "/v22", 2),
            ("crm.example.com:8443", "/v2/contacts", 5),     // the explicit port is the more specific
            ("crm.example.com:8444", "/x", 0),               // no crm route takes that port: host-less ones do
            ("crm.example.com:8080", "/x", 2),               // the proxy's own port, as a Host header names it
            ("[::1]:9000", "/six/x", 6),
            (nil, "/anything", 0),                           // HTTP/1.0 without Host
        ]
        for order in [Array(0..<Self.matches.count), Array((0..<Self.matches.count).reversed())] {
            let table = RouteTable(order.map { Self.matches[$0] }, listenPort: 8080)
            for (host, path, expected) in cases {
                let chosen = route(table, host: host, path).map { order[$0] }
                #expect(chosen == expected, "\(host ?? "-") \(path) in order \(order)")
            }
        }
    }

    @Test("an https:// target's default port is 443; without a catch-all, what no route takes is nil")
    func defaultsAndMisses() {
        let table = RouteTable([RouteMatch(host: "crm.example.com", port: 443), RouteMatch(pathPrefix: "/api")], listenPort: 8080)
        #expect(route(table, host: "crm.example.com", "/x", defaultPort: 443) == 0)
        #expect(route(table, host: "crm.example.com", "/x", defaultPort: 80) == nil)
        #expect(route(table, host: "crm.example.com", "/api/x", defaultPort: 80) == 1)
        #expect(route(table, host: "localhost", "/other") == nil)
        #expect(table.namesHost("crm.example.com") && !table.namesHost("example.com"))
        #expect(table.takesHost("crm.example.com", port: 443, defaultPort: 80))
        #expect(table.takesHost("crm.example.com", port: nil, defaultPort: 443))
        #expect(!table.takesHost("crm.example.com", port: nil, defaultPort: 80))
        #expect(!table.takesHost("crm.example.com", port: 8443, defaultPort: 443))
    }
}
