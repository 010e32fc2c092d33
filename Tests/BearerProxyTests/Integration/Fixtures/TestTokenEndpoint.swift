@testable import BearerProxy
import BearerTLS
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An in-process OAuth2 token endpoint (RFC 6749 §4.4, client credentials with HTTP Basic client
/// authentication, §2.3.1). It counts requests, records the tokens it issued, and can be told to
/// reject the client or to answer slowly. Runs on its own one-loop group, so a delay blocks only it.
final class TestTokenEndpoint: Sendable {
    enum Behaviour: Sendable {
        /// 200 with a fresh JWT-looking token valid for `expiresIn` seconds.
        case issue(expiresIn: Int)
        /// 401 invalid_client, whatever the credentials.
        case rejectClient
    }

    /// What the handler and the test share; guarded by its own Mutexes and Atomic.
    private final class State: Sendable {
        let behaviour = Mutex<Behaviour>(.issue(expiresIn: 300))
        let issued = Mutex<[String]>([])
        let requests = Mutex<[LocalRequest]>([])
        let delayMilliseconds = Atomic<Int>(0)
    }

    let clientID: String
    let clientSecret: String
    private let server: LocalHTTPServer
    private let state = State()

    var port: UInt16 { server.address.port }
    /// Number of token requests received.
    var requestCount: Int { state.requests.withLock { $0.count } }
    var requests: [LocalRequest] { state.requests.withLock { $0 } }
    /// Access tokens handed out, in order.
    var issuedTokens: [String] { state.issued.withLock { $0 } }

    init(tlsContext: TLSContext, clientID: String, clientSecret: String) throws {
        self.clientID = clientID
        self.clientSecret = clientSecret
        let state = self.state
        let group = EventLoopGroup(count: 1, label: "itest.token")
        server = try LocalHTTPServer(listen: SocketAddress(ip: "127.0.0.1", port: 0)!, group: group, tlsContext: tlsContext, label: "itest.token") { request in
            state.requests.withLock { $0.append(request) }
            let pause = state.delayMilliseconds.load(ordering: .relaxed)
            if pause > 0 { usleep(UInt32(pause) * 1000) }
            let expected = "Basic " + Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
            switch state.behaviour.withLock({ $0 }) {
            case .rejectClient:
                return .json(401, #"{"error":"invalid_client"}"#)
            case .issue(let expiresIn):
                guard request.method == "POST", request.values(of: "authorization") == [expected],
                      String(decoding: request.body, as: UTF8.self).contains("grant_type=client_credentials") else {
                    return .json(401, #"{"error":"invalid_client"}"#)
                }
                let token = state.issued.withLock { issued in
                    // Header and payload are real base64url JSON; the tail makes each token distinctive.
                    let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJpdGVzdCJ9.itest-token-\(issued.count + 1)-\(UInt32.random(in: 0...UInt32.max))"
                    issued.append(token)
                    return token
                }
                return .json(200, #"{"access_token":"\#(token)","token_type":"Bearer","expires_in":\#(expiresIn)}"#,
                             extraFields: [("Cache-Control", "no-store")])
            }
        }
    }

    func behave(_ behaviour: Behaviour) {
        state.behaviour.withLock { $0 = behaviour }
    }

    func delayAnswers(milliseconds: Int) {
        state.delayMilliseconds.store(milliseconds, ordering: .relaxed)
    }

    func close() {
        server.close()
    }
}
