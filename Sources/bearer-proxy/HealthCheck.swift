import ArgumentParser
import BearerProxy

/// For container health checks in images without curl: asks the admin `/healthz` named by the config.
struct HealthCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck",
        abstract: "Exit 0 if the admin /healthz named by the config answers 200, 1 if not (for HEALTHCHECK and exec probes).",
        discussion: "Reads admin.listen from the config; exits 2 if the config is invalid or has the admin listener disabled."
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Int = 3

    func run() throws {
        let config = options.load()
        guard let admin = config.admin else {
            printError("bearer-proxy healthcheck: \(options.config) disables the admin listener (admin.enabled: false)")
            exitAfterFlushingLogs(2)
        }
        switch AdminProbe.get(admin.listen, path: "/healthz", timeout: .seconds(max(1, timeout))) {
        case .success(let status) where status == 200:
            print("ok: http://\(admin.listen)/healthz answered 200")
            exitAfterFlushingLogs(0)
        case .success(let status):
            printError("bearer-proxy healthcheck: http://\(admin.listen)/healthz answered \(status)")
            exitAfterFlushingLogs(1)
        case .failure(let error):
            printError("bearer-proxy healthcheck: http://\(admin.listen)/healthz: \(error)")
            exitAfterFlushingLogs(1)
        }
    }
}
