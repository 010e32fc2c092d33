#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

extension ProxyServer {
    /// SIGHUP: reads the config file (and the secret files it names) again and puts it in force:
    /// for new connections at once, and for open keep-alive connections from their next request
    /// on (a request in flight finishes on the configuration it started with).
    /// An invalid file, or one that cannot be put in force (a bad CA file, a port in use), is
    /// rejected with a log line and the running configuration stays. Returns whether it took.
    @discardableResult
    public func reload(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        do throws(ConfigError) {
            return reload(to: try ProxyConfig.load(path: path, environment: environment))
        } catch {
            return rejectReload("\(error)")
        }
    }

    /// Puts `config` in force (see `reload(path:)`).
    @discardableResult
    public func reload(to config: ProxyConfig) -> Bool {
        let (old, oldListener, shuttingDown) = current.state.withLock { ($0.generation, $0.listener, $0.shuttingDown) }
        guard !shuttingDown else { return rejectReload("shutting down") }
        for change in Self.restartOnlyChanges(from: old.config, to: config) {
            logger.warning("config reload: this change needs a restart and is not applied", metadata: ["key": "\(change)"])
        }
        // Settings that need a restart keep their running values.
        var config = config
        config.workers = old.config.workers
        config.admin = old.config.admin
        config.log.level = old.config.log.level
        config.log.format = old.config.log.format

        var newListener: ProxyListeners?
        if config.listen != old.config.listen {
            do throws(StartupError) {
                newListener = try Self.bind(config.listen, label: "listen", group: services.group)
            } catch {
                return rejectReload(error.description)
            }
        }
        let listener = newListener ?? oldListener
        let generation: ProxyGeneration
        do throws(StartupError) {
            generation = try ProxyGeneration(number: old.number + 1, config: config, listenPort: listener.address.port,
                                             services: services, previous: old)
        } catch {
            newListener?.close()
            return rejectReload(error.description)
        }
        // A shutdown may have begun while this generation was built (signals run on other queues).
        let swapped = current.state.withLock { state in
            guard !state.shuttingDown else { return false }
            state.generation = generation
            state.listener = listener
            state.lastReloadError = nil
            state.lastReloadAt = WallClock.seconds()
            return true
        }
        guard swapped else {
            newListener?.close()
            return rejectReload("shutting down")
        }
        if let newListener {
            Self.startAccepting(newListener, current: current, group: services.group)
            oldListener.close()
        }
        old.retire(successor: generation)
        generation.startNewProfiles()
        metrics.configReloadSuccesses.increment()
        logger.info("config reloaded", metadata: [
            "generation": "\(generation.number)",
            "listen": "\(listener.address)",
            "new_token_profiles": "\(generation.profiles.filter(\.isNew).map(\.name).joined(separator: ","))",
            "summary": "\(config.summary().joined(separator: "; "))",
        ])
        return true
    }

    private func rejectReload(_ reason: String) -> Bool {
        current.state.withLock { state in
            state.lastReloadError = reason
            state.lastRejectedReload = (WallClock.seconds(), reason)
        }
        metrics.configReloadFailures.increment()
        logger.error("config reload rejected; the running configuration stays in force", metadata: ["reason": "\(reason)"])
        return false
    }

    /// Keys a reload cannot change: the loops, the admin listener and the log setup are made once.
    static func restartOnlyChanges(from old: ProxyConfig, to new: ProxyConfig) -> [String] {
        var changes: [String] = []
        if old.workers != new.workers { changes.append("workers") }
        if old.admin != new.admin { changes.append("admin") }
        if old.log.level != new.log.level { changes.append("log.level") }
        if old.log.format != new.log.format { changes.append("log.format") }
        return changes
    }
}
