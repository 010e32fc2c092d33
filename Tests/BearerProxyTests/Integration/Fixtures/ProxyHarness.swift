@testable import BearerProxy
import BearerTLS
import Foundation
import Logging
import Testing

/// The real proxy, started from a real YAML config, in front of an in-process TLS upstream and an
/// in-process TLS token endpoint, all on loopback port 0. `stop()` tears everything down.
final class ProxyHarness: Sendable {
    /// Distinctive strings a log must never contain.
    static let clientID = "itest-client"
    static let clientSecret = "itest-S3CRET-never-log-5d1f2b9a"

    /// How the upstream's certificate relates to the CA the proxy trusts.
    enum UpstreamCertificate {
        case trusted
        /// Issued by a CA the proxy does not know.
        case otherCA
        /// From the trusted CA, but for `other.example` only.
        case wrongName
    }

    enum UpstreamClientCertificate {
        case none
        /// The one the token endpoint sees (with `.tlsClientAuth`; otherwise one made for it).
        case sameAsToken
        /// Another certificate from the same CA.
        case other
    }

    /// How the proxy authenticates to the token endpoint (token.auth_method and its keys).
    enum ClientAuthentication {
        case basic
        case post
        case clientSecretJWT
        case privateKeyJWT(JWSAlgorithm)
        case tlsClientAuth
        /// federated_jwt with a workload issuer's assertion in `assertionPath`, valid for
        /// `expiresIn` seconds (negative: expired when the proxy starts).
        case federated(expiresIn: Int)
    }

    struct Options {
        var authentication: ClientAuthentication = .basic
        /// Configure token.issuer (discovery) instead of token.url.
        var discovery = false
        /// The `issuer` the discovery document claims; nil: the right one.
        var metadataIssuer: String?
        /// Put the secret in a file (token.client_secret_file) instead of inline.
        var secretInFile = false
        var authMethodsSupported = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "tls_client_auth"]
        var upstreamCertificate: UpstreamCertificate = .trusted
        /// The upstream demands a client certificate from the test CA.
        var upstreamRequiresClientCertificate = false
        /// token.dpop with a key in `dpop.pem` (`dpopPublicKeyPEM`); with `dpopAtEndpoint` the
        /// token endpoint checks the proofs and issues DPoP-bound tokens, else it answers Bearer.
        var dpop = false
        var dpopAtEndpoint = true
        /// The client certificate the proxy presents to the upstream (upstream.client_cert_file).
        var upstreamClientCertificate: UpstreamClientCertificate = .none
        /// Point `token.url` at a loopback port nothing listens on.
        var tokenEndpointDown = false
        var tokenBehaviour: TestTokenEndpoint.Behaviour = .issue(expiresIn: 300)
        var tokenDelayMilliseconds = 0
        var workers = 2
        var upstreamResponseTimeout = "5s"
        var tokenTimeout = "2s"
        /// `token.min_request_interval`; "0s" lets a test see a 401 replaced at once.
        var tokenMinRequestInterval = "5s"
        /// Base path of `upstream.url` ("" or "/v2").
        var upstreamBasePath = ""
        /// Appended to the config as top-level YAML (whole sections such as `timeouts:`).
        var extraYAML = ""
        /// Appended inside `upstream:`, each key on its own line indented by two spaces.
        var upstreamYAML = ""
        /// Appended inside `token:`, likewise.
        var tokenYAML = ""
        var logger = Logger(label: "itest.proxy", factory: { _ in SwiftLogNoOpLogHandler() })
        var metrics = ProxyMetrics()
    }

    let directory: String
    /// The test CA: it signs every server and client certificate of the harness.
    let certificateAuthority: CertificateAuthority
    /// token.dpop: the public key of the proxy's proofs, and the token endpoint's checker.
    let dpopPublicKeyPEM: String?
    let tokenDPoP: DPoPChecker?
    /// federated_jwt: the assertion file the proxy reads (`WorkloadIssuer.write` replaces it).
    var assertionPath: String { directory + "/oauth-token" }
    /// token.client_secret_file when `secretInFile`.
    var secretPath: String { directory + "/client_secret" }
    let upstream: TestUpstream
    let tokenEndpoint: TestTokenEndpoint
    let proxy: ProxyServer
    /// The YAML the proxy was started from (reload tests derive changed versions from it).
    let configYAML: String
    /// A socket bound but not listening, holding the "down" token endpoint's port (-1: none).
    private let reservedPortSocket: Int32

    var proxyPort: UInt16 { proxy.listenAddress.port }
    var adminPort: UInt16 { proxy.adminAddress!.port }
    /// The authority the proxy must send upstream as `Host`.
    var upstreamAuthority: String { "localhost:\(upstream.port)" }

    init(_ options: Options = Options()) throws {
        directory = try Self.makeTemporaryDirectory()
        let ca = try CertificateAuthority.generate(commonName: "bearer-proxy itest CA")
        certificateAuthority = ca
        let goodLeaf = try ca.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        let goodTLS = try TLSContext.server(certificateChainPEM: goodLeaf.certificatePEM, privateKeyPEM: goodLeaf.privateKeyPEM)

        var upstreamTLS: TLSContext
        switch options.upstreamCertificate {
        case .trusted:
            upstreamTLS = options.upstreamRequiresClientCertificate
                ? try TLSContext.server(certificateChainPEM: goodLeaf.certificatePEM, privateKeyPEM: goodLeaf.privateKeyPEM,
                                        requiringClientCertificateFrom: ca.certificatePEM)
                : goodTLS
        case .otherCA:
            let stranger = try CertificateAuthority.generate(commonName: "some other CA")
            let leaf = try stranger.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
            upstreamTLS = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
        case .wrongName:
            let leaf = try ca.issueServerCertificate(dnsNames: ["other.example"], ipAddresses: [])
            upstreamTLS = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
        }
        upstream = try TestUpstream(tlsContext: upstreamTLS)
        var tokenTLS = goodTLS
        var credentialYAML = ""
        let endpointAuthentication: TestTokenEndpoint.Authentication
        switch options.authentication {
        case .basic:
            endpointAuthentication = .basic
        case .post:
            endpointAuthentication = .post
            credentialYAML = "  auth_method: client_secret_post\n"
        case .clientSecretJWT:
            endpointAuthentication = .clientSecretJWT
            credentialYAML = "  auth_method: client_secret_jwt\n"
        case .privateKeyJWT(let algorithm):
            let key = try JWSSigningKey.generate(algorithm == .es256 ? .ecP256 : .rsa)
            try Data(key.privateKeyPEM().utf8).write(to: URL(fileURLWithPath: directory + "/client_key.pem"))
            endpointAuthentication = .privateKeyJWT(publicKeyPEM: try key.publicKeyPEM(), algorithm: algorithm, keyID: "itest-key")
            credentialYAML = "  auth_method: private_key_jwt\n  private_key_file: client_key.pem\n  key_id: itest-key\n  signing_alg: \(algorithm.rawValue)\n"
        case .tlsClientAuth:
            let client = try ca.issueClientCertificate(commonName: Self.clientID)
            try Data(client.certificatePEM.utf8).write(to: URL(fileURLWithPath: directory + "/client.crt"))
            try Data(client.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: directory + "/client.key"))
            tokenTLS = try TLSContext.server(certificateChainPEM: goodLeaf.certificatePEM, privateKeyPEM: goodLeaf.privateKeyPEM,
                                             requiringClientCertificateFrom: ca.certificatePEM)
            endpointAuthentication = .tlsClientAuth
            credentialYAML = "  auth_method: tls_client_auth\n  client_cert_file: client.crt\n  client_key_file: client.key\n"
        case .federated(let expiresIn):
            WorkloadIssuer.write(WorkloadIssuer.mint(expiresIn: expiresIn), to: directory + "/oauth-token")
            endpointAuthentication = .federated(issuer: WorkloadIssuer.issuer, subject: WorkloadIssuer.subject,
                                                audience: "api://AzureADTokenExchange",
                                                publicKeyPEM: try WorkloadIssuer.key.publicKeyPEM())
            credentialYAML = "  auth_method: federated_jwt\n  assertion_file: oauth-token\n"
        }
        switch options.authentication {
        case .basic, .post, .clientSecretJWT:
            if options.secretInFile {
                try Data((Self.clientSecret + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/client_secret"))
                credentialYAML += "  client_secret_file: client_secret\n"
            } else {
                credentialYAML += "  client_secret: \(Self.clientSecret)\n"
            }
        case .privateKeyJWT, .tlsClientAuth, .federated:
            break
        }
        var upstreamCertificateYAML = ""
        switch options.upstreamClientCertificate {
        case .none:
            break
        case .sameAsToken:
            if !FileManager.default.fileExists(atPath: directory + "/client.crt") {
                let client = try ca.issueClientCertificate(commonName: Self.clientID)
                try Data(client.certificatePEM.utf8).write(to: URL(fileURLWithPath: directory + "/client.crt"))
                try Data(client.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: directory + "/client.key"))
            }
            upstreamCertificateYAML = "  client_cert_file: client.crt\n  client_key_file: client.key\n"
        case .other:
            let other = try ca.issueClientCertificate(commonName: "another-workload")
            try Data(other.certificatePEM.utf8).write(to: URL(fileURLWithPath: directory + "/other.crt"))
            try Data(other.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: directory + "/other.key"))
            upstreamCertificateYAML = "  client_cert_file: other.crt\n  client_key_file: other.key\n"
        }
        tokenEndpoint = try TestTokenEndpoint(tlsContext: tokenTLS, clientID: Self.clientID, clientSecret: Self.clientSecret,
                                              authentication: endpointAuthentication, authMethodsSupported: options.authMethodsSupported)
        tokenEndpoint.behave(options.tokenBehaviour)
        if options.dpop {
            let key = try JWSSigningKey.generate(.ecP256)
            try Data(key.privateKeyPEM().utf8).write(to: URL(fileURLWithPath: directory + "/dpop.pem"))
            credentialYAML += "  dpop: {key_file: dpop.pem}\n"
            dpopPublicKeyPEM = try key.publicKeyPEM()
            tokenDPoP = options.dpopAtEndpoint ? try DPoPChecker(publicKeyPEM: key.publicKeyPEM(), algorithm: .es256) : nil
            if let tokenDPoP { tokenEndpoint.requireDPoP(tokenDPoP) }
        } else {
            dpopPublicKeyPEM = nil
            tokenDPoP = nil
        }
        if let issuer = options.metadataIssuer { tokenEndpoint.claimIssuer(issuer) }
        tokenEndpoint.delayAnswers(milliseconds: options.tokenDelayMilliseconds)

        let caPath = directory + "/ca.pem"
        try Data(ca.certificatePEM.utf8).write(to: URL(fileURLWithPath: caPath))
        if options.tokenEndpointDown {
            let reserved = try Self.reserveClosedPort()
            reservedPortSocket = reserved.fd
        } else {
            reservedPortSocket = -1
        }
        let tokenPort = options.tokenEndpointDown ? Self.port(of: reservedPortSocket) : tokenEndpoint.port
        let yaml = """
            listen: 127.0.0.1:0
            workers: \(options.workers)
            upstream:
              url: https://localhost:\(upstream.port)\(options.upstreamBasePath)
              ca_file: \(caPath)
              connect_timeout: 2s
              response_timeout: \(options.upstreamResponseTimeout)
            \(upstreamCertificateYAML)\(options.upstreamYAML)token:
              \(options.discovery ? "issuer: https://localhost:\(tokenPort)" : "url: https://localhost:\(tokenPort)/oauth2/token")
              client_id: \(Self.clientID)
            \(credentialYAML)  ca_file: \(caPath)
              timeout: \(options.tokenTimeout)
              min_request_interval: \(options.tokenMinRequestInterval)
            \(options.tokenYAML)admin:
              listen: 127.0.0.1:0

            """ + options.extraYAML
        configYAML = yaml
        let config = try ProxyConfig.parse(yaml: yaml, sourceName: "itest.conf", baseDirectory: directory, environment: [:])
        proxy = try ProxyServer(config: config, logger: options.logger, metrics: options.metrics)
    }

    func client() throws -> RawHTTPClient {
        try RawHTTPClient(port: proxyPort)
    }

    func adminClient() throws -> RawHTTPClient {
        try RawHTTPClient(port: adminPort)
    }

    /// `GET <target>` with the Host a local caller would send.
    func get(_ target: String, extraFields: String = "") -> String {
        "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(proxyPort)\r\n\(extraFields)\r\n"
    }

    /// Waits until the token provider holds a token, so a test starts from a warm proxy.
    /// Writes `yaml` as the config file and returns its path (for reload tests).
    func writeConfig(_ yaml: String, name: String = "proxy.conf") throws -> String {
        let path = directory + "/" + name
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The admin endpoint's answer to `GET path`.
    func admin(_ path: String) throws -> RawResponse {
        try adminClient().exchange("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    }

    func waitForToken() async throws {
        try await poll("the first token to be fetched") { self.proxy.tokenStatus.hasValidToken }
    }

    func stop() {
        let done = DispatchSemaphore(value: 0)
        proxy.shutdown(drainTimeout: .milliseconds(200)) { done.signal() }
        _ = done.wait(timeout: .now() + 2)
        upstream.close()
        tokenEndpoint.close()
        if reservedPortSocket >= 0 { Glibc.close(reservedPortSocket) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/bearer-proxy-itest.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw RawClientError(description: "mkdtemp failed") }
        return String(cString: made)
    }

    /// A loopback port bound but never listened on: connecting to it is refused, and no other
    /// process can take it while the socket stays open.
    private static func reserveClosedPort() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw RawClientError(description: "cannot reserve a port") }
        return (fd, port(of: fd))
    }

    private static func port(of fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes (then records an issue).
func poll(_ what: String, timeout: Duration = .seconds(5), _ condition: @escaping @Sendable () -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !condition() {
        guard clock.now < deadline else {
            Issue.record("timed out waiting for \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
