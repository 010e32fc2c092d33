import BearerTLS
import BearerSync
import Logging

/// The TLS client context of one route's upstream, shared by the route's pools on every loop.
///
/// With `client_cert_file` and `client_key_file` it presents that certificate (mutual TLS), as a
/// resource server that takes certificate-bound tokens needs (RFC 8705 §3: the token names the
/// certificate by its `x5t#S256` thumbprint). A watcher re-reads the files when they change:
/// new upstream connections present the new certificate, pooled ones keep the one they were
/// opened with. Files left unusable by a rotation (half written) keep the last good context, and
/// the log says so. Loops only read the current context: no file is read on a loop's queue.
final class UpstreamTLS: Sendable {
    private let configuration: TLSClientConfiguration
    private let context: Locked<TLSContext>
    private let watcher: CredentialWatcher?
    private let label: String
    private let logger: Logger

    init(_ upstream: UpstreamConfig, route label: String, logger: Logger) throws(TLSError) {
        configuration = TLSClientConfiguration(
            caFile: upstream.caFile, verifyPeer: !upstream.insecureSkipVerify,
            clientCertificateFile: upstream.clientCertificateFile, clientKeyFile: upstream.clientKeyFile)
        context = Locked(try TLSContext.client(configuration))
        self.label = label
        self.logger = logger
        let files = [upstream.clientCertificateFile, upstream.clientKeyFile].compactMap { $0 }
        watcher = files.isEmpty ? nil : CredentialWatcher(files: files) { [configuration, context, label, logger] in
            Self.reload(configuration, into: context, route: label, logger: logger)
        }
    }

    /// The context new connections use.
    var current: TLSContext { context.withLock { $0 } }

    /// Whether a client certificate is presented.
    var presentsCertificate: Bool { configuration.clientCertificateFile != nil }

    func startWatching() { watcher?.start() }
    func stopWatching() { watcher?.stop() }

    private static func reload(_ configuration: TLSClientConfiguration, into context: Locked<TLSContext>, route: String, logger: Logger) {
        do {
            let fresh = try TLSContext.client(configuration)
            context.withLock { $0 = fresh }
            logger.info("upstream client certificate changed; new connections present the new one", metadata: [
                "route": "\(route)", "client_cert_file": "\(configuration.clientCertificateFile ?? "-")",
            ])
        } catch {
            logger.warning("upstream client certificate files changed but are not usable; keeping the previous certificate", metadata: [
                "route": "\(route)", "reason": "\(error.reason)",
            ])
        }
    }
}
