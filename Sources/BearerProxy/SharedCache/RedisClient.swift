import BearerRedis
import BearerSync
import BearerTLS
import Logging

/// A Redis server as the shared token cache uses it: one connection on one loop, commands
/// pipelined, replies matched to them in order, every command answered within `timeout`.
///
/// The bytes travel through the proxy's own `Connection` (its epoll loop, its resolver, OpenSSL
/// for `rediss://`); hiredis only formats commands and parses replies (`BearerRedis`). The
/// connection opens when the first command needs it and sends `AUTH` and `SELECT` ahead of it.
///
/// Failing soft is the point: a refused connection, a reply later than `timeout` or a failed
/// `AUTH` ends every pending command with a `RedisError`, and for `retryDelay` (growing while the
/// outage lasts) later commands fail at once instead of waiting again. The first failure of an
/// outage is logged as a warning, the recovery as a notice; every failure is counted by kind.
/// @unchecked Sendable: every mutable property is touched only on `loop.queue`; `health` is
/// behind its own lock, for /readyz and the metrics.
final class RedisClient: ConnectionDelegate, @unchecked Sendable {
    struct Settings: Sendable {
        var server: RedisURL
        var username: String?
        var passwordFile: String?
        var tlsContext: TLSContext?
        /// Longest wait for a reply (or for the connection) before the server counts as down.
        var timeout: Duration = .milliseconds(250)
        /// After a failure, commands fail at once for this long, doubling up to `maximumRetryDelay`.
        var retryDelay: Duration = .milliseconds(500)
        var maximumRetryDelay: Duration = .seconds(5)

        init(_ config: SharedCacheConfig, tlsContext: TLSContext?) {
            server = config.server
            username = config.username
            passwordFile = config.passwordFile
            self.tlsContext = tlsContext
        }
    }

    typealias Completion = (Result<RedisReply, RedisError>) -> Void

    /// Whether the last exchange with the server worked, for /readyz; readable from any thread.
    struct Health: Sendable {
        var reachable: Bool?
        var lastError: String?
        /// Uptime of the last exchange that told `reachable` (0: none yet).
        var checkedAt: UInt64 = 0
    }

    private enum State {
        case idle
        case connecting
        case open(Connection)
        /// Commands fail at once until `until` (uptime nanoseconds).
        case down(until: UInt64, error: RedisError)
    }

    private struct Pending {
        var deadline: UInt64
        var completion: Completion
    }

    let loop: EventLoop
    private let settings: Settings
    private let resolver: AddressResolver
    private let logger: Logger
    /// Hears every failure, and nil when the server answers again after a failure (or first).
    private let observe: @Sendable (RedisError?) -> Void
    private var state = State.idle
    /// Replies expected, oldest first: the handshake's, then the commands'.
    private var pending: [Pending] = []
    /// Commands asked for while the connection opens; written after the handshake.
    private var queued: [[UInt8]] = []
    private var reader = RedisReplyReader(maximumPending: SizeLimits.redisReply)
    private var failuresInARow = 0
    private let health = Locked(Health())

    /// `observe` hears each failure and each recovery (for the metrics), on the loop.
    init(settings: Settings, loop: EventLoop, resolver: AddressResolver, logger: Logger,
         observe: @escaping @Sendable (RedisError?) -> Void = { _ in }) {
        self.settings = settings
        self.loop = loop
        self.resolver = resolver
        self.logger = logger
        self.observe = observe
    }

    var status: Health { health.withLock { $0 } }

    /// Sends a `PING` when the last word from the server is older than `age`, so that /readyz,
    /// which asks every few seconds, shows the server's state even while no token is due.
    /// Callable from any thread; the answer updates `status` for the next caller.
    func probe(ifOlderThan age: Duration) {
        let checkedAt = health.withLock { $0.checkedAt }
        guard checkedAt == 0 || EventLoop.now() &- checkedAt > TokenProvider.nanoseconds(age) else { return }
        loop.execute { [self] in
            // Not while an outage's retry delay runs: the failure is known, and fresh.
            if case .down(let until, _) = state, EventLoop.now() < until { return }
            guard pending.isEmpty else { return }
            send([Array("PING".utf8)]) { _ in }
        }
    }

    /// Sends one command; `completion` runs on `loop` exactly once, with the reply (an error reply
    /// becomes `.refused`) or the failure. Call on `loop`.
    func send(_ arguments: [[UInt8]], _ completion: @escaping Completion) {
        loop.assertOnLoop()
        let bytes = RedisCommand.encode(arguments)
        let entry = Pending(deadline: EventLoop.deadline(after: settings.timeout)) { [observe] result in
            completion(result.flatMap { reply in
                guard case .error(let text) = reply else { return .success(reply) }
                // The server is there but will not do it (OOM when full, READONLY on a replica, NOPERM).
                let error = RedisError.refused(RedisError.firstWord(text))
                observe(error)
                return .failure(error)
            })
        }
        switch state {
        case .down(let until, let error) where EventLoop.now() < until:
            completion(.failure(error))
        case .down, .idle:
            pending.append(entry)
            queued.append(bytes)
            connect()
        case .connecting:
            pending.append(entry)
            queued.append(bytes)
        case .open(let connection):
            pending.append(entry)
            if pending.count == 1 { connection.deadline = entry.deadline }
            connection.write(bytes)
            connection.flush()
        }
    }

    /// Drops the connection (a reload or shutdown); pending commands fail. The next command
    /// connects again.
    func close() {
        loop.assertOnLoop()
        guard case .open(let connection) = state else { return }
        connection.close()
        state = .idle
        failAll(.closed)
    }

    private func connect() {
        state = .connecting
        let endpoint = Endpoint(host: settings.server.host, port: settings.server.port, tlsContext: settings.tlsContext)
        Connector.connect(to: endpoint, on: loop, resolver: resolver, timeout: settings.timeout) { [self] result in
            switch result {
            case .failure(let error):
                fail(.unreachable(error.description))
            case .success(let connection):
                opened(connection)
            }
        }
    }

    private func opened(_ connection: Connection) {
        connection.delegate = self
        state = .open(connection)
        reader = RedisReplyReader(maximumPending: SizeLimits.redisReply)
        var handshake: [[UInt8]] = []
        if let passwordFile = settings.passwordFile {
            switch ConfigFiles.contents(of: passwordFile, limit: SizeLimits.secretFile) {
            case .failure(let failure):
                fail(.authentication("password_file: \(failure.message)"))
                return
            case .success(let contents):
                let password = Array(String(decoding: contents, as: UTF8.self).trimmingWhitespace().utf8)
                handshake.append(RedisCommand.encode(settings.username.map { [Array("AUTH".utf8), Array($0.utf8), password] }
                    ?? [Array("AUTH".utf8), password]))
            }
        }
        if settings.server.database != 0 {
            handshake.append(RedisCommand.encode("SELECT", String(settings.server.database)))
        }
        // The handshake's replies come first; a refusal there is the connection's failure.
        let handshakeDeadline = pending.first?.deadline ?? EventLoop.deadline(after: settings.timeout)
        pending.insert(contentsOf: handshake.map { _ in
            Pending(deadline: handshakeDeadline) { [self] result in
                switch result {
                case .success(let reply) where reply.isOK:
                    break
                case .success(let reply):
                    if case .error(let text) = reply { fail(.authentication(RedisError.firstWord(text))) } else {
                        fail(.protocolError("unexpected reply \(reply) to AUTH or SELECT"))
                    }
                case .failure:
                    break
                }
            }
        }, at: 0)
        for command in handshake + queued { connection.write(command) }
        queued = []
        connection.deadline = pending.first?.deadline ?? 0
        connection.flush()
    }

    // MARK: ConnectionDelegate

    func connection(_ connection: any Transport, didRead bytes: UnsafeRawBufferPointer) {
        do throws(RedisReplyReader.ProtocolError) {
            try reader.feed(bytes)
            while let reply = try reader.next() {
                guard !pending.isEmpty else {
                    fail(.protocolError("a reply nothing asked for"))
                    return
                }
                let entry = pending.removeFirst()
                connection.deadline = pending.first?.deadline ?? 0
                succeeded()
                entry.completion(.success(reply))
                // A failed handshake or a completion may have closed the connection.
                guard case .open(let current) = state, current === connection else { return }
            }
        } catch {
            fail(.protocolError(error.description))
        }
    }

    func connectionDidReadEOF(_ connection: any Transport) {
        if pending.isEmpty {
            // The server closed an idle connection (its `timeout` setting, a restart): open
            // a new one when needed, no outage.
            connection.close()
            state = .idle
        } else {
            fail(.unreachable("the server closed the connection"))
        }
    }

    func connection(_ connection: any Transport, didFail error: ConnectionError) {
        fail(.unreachable(error.description))
    }

    func connectionDidTimeOut(_ connection: any Transport) {
        fail(.timedOut(settings.timeout))
    }

    func connectionDidOpen(_ connection: any Transport) {}
    func connectionDidDrain(_ connection: any Transport) {}

    // MARK: Outages

    private func succeeded() {
        let now = EventLoop.now()
        let wasReachable = health.withLock { health in
            defer { health.checkedAt = now }
            return health.reachable == true
        }
        guard failuresInARow > 0 || !wasReachable else { return }
        if failuresInARow > 0 {
            logger.notice("shared token cache reachable again", metadata: ["server": "\(settings.server)"])
        }
        failuresInARow = 0
        health.withLock { $0 = Health(reachable: true, lastError: nil, checkedAt: now) }
        observe(nil)
    }

    /// Ends the connection and every pending command with `error`; later commands fail at once
    /// until the retry delay passes.
    private func fail(_ error: RedisError) {
        if case .open(let connection) = state { connection.close() }
        failuresInARow += 1
        let delay = min(settings.retryDelay * (1 << min(failuresInARow - 1, 16)), settings.maximumRetryDelay)
        state = .down(until: EventLoop.deadline(after: delay), error: error)
        queued = []
        health.withLock { $0 = Health(reachable: false, lastError: error.description, checkedAt: EventLoop.now()) }
        observe(error)
        if failuresInARow == 1 {
            logger.warning("shared token cache unavailable; fetching tokens without it until it is back", metadata: [
                "server": "\(settings.server)", "reason": "\(error)",
            ])
        } else {
            logger.debug("shared token cache still unavailable", metadata: ["reason": "\(error)"])
        }
        failAll(error)
    }

    private func failAll(_ error: RedisError) {
        let failed = pending
        pending = []
        for entry in failed { entry.completion(.failure(error)) }
    }
}

extension SharedCacheMetrics {
    /// Counts a failure by kind, or a recovery (nil).
    func observe(_ error: RedisError?) {
        guard let error else {
            recovered()
            return
        }
        if case .refused = error { failed(kind: error.kind, serverAnswered: true) } else { failed(kind: error.kind, serverAnswered: false) }
    }
}

/// Why a Redis command got no usable answer. The text never holds a value or a password.
enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection (refused, reset, name not found, TLS failed).
    case unreachable(String)
    /// No reply in time.
    case timedOut(Duration)
    /// The server answered with an error (`OOM`, `READONLY`, `NOPERM`, ...): its first word.
    case refused(String)
    /// `AUTH` or `SELECT` was refused, or the password file could not be read.
    case authentication(String)
    /// Bytes that are not a Redis reply, or a reply of the wrong kind.
    case protocolError(String)
    /// The connection was closed by the proxy (reload, shutdown).
    case closed

    /// For the metrics' `kind` label.
    var kind: String {
        switch self {
        case .unreachable: return "unreachable"
        case .timedOut: return "timeout"
        case .refused: return "refused"
        case .authentication: return "auth"
        case .protocolError: return "protocol"
        case .closed: return "closed"
        }
    }

    var description: String {
        switch self {
        case .unreachable(let why): return "unreachable: \(why)"
        case .timedOut(let limit): return "no reply within \(limit)"
        case .refused(let code): return "the server refused the command (\(code))"
        case .authentication(let why): return "AUTH or SELECT refused (\(why))"
        case .protocolError(let why): return "protocol error: \(why)"
        case .closed: return "connection closed by the proxy"
        }
    }

    /// A server error's code (`WRONGPASS`, `OOM`, `NOAUTH`): its first word, which names the
    /// kind; the rest may quote what was sent.
    static func firstWord(_ text: String) -> String {
        String(text.prefix { $0 != " " }.prefix(32).filter { $0.isASCII && !$0.isWhitespace })
    }
}
