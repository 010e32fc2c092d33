import BearerTLS
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// `bearer-proxy demo`: a local token endpoint and a local TLS echo upstream, both with
/// certificates from a throw-away CA, and the real proxy in front of them, configured by a real
/// `proxy.conf`. Everything written goes to one temporary folder, removed by `stop()`.
public final class DemoEnvironment: Sendable {
    public let proxy: ProxyServer
    public let directory: String
    public let clientID = "demo-client"
    private let tokenEndpoint: LocalHTTPServer
    private let upstream: LocalHTTPServer

    public var proxyURL: String { "http://\(proxy.listenAddress)" }
    public var tokenURL: String { "https://\(tokenEndpoint.address)/oauth2/token" }
    public var upstreamURL: String { "https://\(upstream.address)" }

    public init(listen: String, logger: Logger) throws {
        var template = Array("/tmp/bearer-proxy-demo.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw StartupError(description: "cannot create a temporary folder") }
        directory = String(cString: made)

        let ca = try CertificateAuthority.generate(commonName: "bearer-proxy demo CA")
        let leaf = try ca.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"])
        let serverTLS = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
        let secret = Base64URL.encode(CryptoPrimitives.randomBytes(24))
        let signingKey = CryptoPrimitives.randomBytes(32)

        let group = EventLoopGroup(count: 1, label: "bearer-proxy.demo")
        let loopback = SocketAddress(ip: "127.0.0.1", port: 0)!
        let clientID = self.clientID
        tokenEndpoint = try LocalHTTPServer(listen: loopback, group: group, tlsContext: serverTLS, label: "demo.token") { request in
            DemoTokenEndpoint.answer(request, clientID: clientID, clientSecret: secret, signingKey: signingKey)
        }
        upstream = try LocalHTTPServer(listen: loopback, group: group, tlsContext: serverTLS, label: "demo.upstream") { request in
            DemoEchoUpstream.answer(request)
        }

        let caPath = directory + "/demo-ca.pem"
        let secretPath = directory + "/client_secret"
        let configPath = directory + "/proxy.conf"
        try Data(ca.certificatePEM.utf8).write(to: URL(fileURLWithPath: caPath))
        guard FileManager.default.createFile(atPath: secretPath, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw StartupError(description: "cannot write \(secretPath)")
        }
        let config = """
        # Written by `bearer-proxy demo`; the endpoints below live inside the demo process.
        listen: \(listen)
        upstream:
          url: https://localhost:\(upstream.address.port)
          ca_file: \(caPath)
        token:
          url: https://localhost:\(tokenEndpoint.address.port)/oauth2/token
          client_id: \(clientID)
          client_secret_file: \(secretPath)
          scopes: [demo.read, demo.write]
          ca_file: \(caPath)
        admin:
          listen: 127.0.0.1:0

        """
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
        let loaded: ProxyConfig
        do {
            loaded = try ProxyConfig.load(path: configPath, environment: [:])
        } catch {
            throw StartupError(description: "demo configuration: \(error)")
        }
        proxy = try ProxyServer(config: loaded, logger: logger)
    }

    /// Removes the temporary folder.
    public func stop() {
        tokenEndpoint.close()
        upstream.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension DemoEnvironment {
    /// Sends one request through the proxy, as a client would, and reports the answer.
    /// `ok` is true when the upstream saw exactly one Authorization field and it carries a bearer token.
    public func runOnce(path: String, completion: @escaping @Sendable (_ output: String, _ ok: Bool) -> Void) {
        let loop = EventLoop(index: 0, label: "bearer-proxy.demo-client")
        let address = proxy.listenAddress
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(address)\r\nAuthorization: Basic bm90OnVzZWQ=\r\nConnection: close\r\n\r\n".utf8)
        let endpoint = Endpoint(host: address.ip, port: address.port, tlsContext: nil)
        BufferedHTTPClient.send(request, to: endpoint, on: loop, resolver: AddressResolver(), timeout: .seconds(15)) { result in
            switch result {
            case .failure(let error):
                completion("request through the proxy failed: \(error)", false)
            case .success(let response):
                let body = String(decoding: response.body, as: UTF8.self)
                let authorizations = body.components(separatedBy: "[\"Authorization\", ").count - 1
                let ok = response.status == 200 && authorizations == 1 && body.contains("[\"Authorization\", \"Bearer ey")
                completion("HTTP \(response.status) from \(self.proxyURL)\(path)\n\(body)", ok)
            }
        }
    }
}
