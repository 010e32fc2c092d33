import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket in an event loop's epoll set, handing each new connection on.
///
/// Accepting happens on its loop (an event loop of the proxy, or one of its own); the accepted
/// descriptor is then owned by whichever loop `onAccept` gives it to.
/// @unchecked Sendable: `fd`, `address` and `loop` are set in `init`; everything else is touched
/// only on `loop.queue`.
public final class Listener: @unchecked Sendable, EventHandler {
    public let address: SocketAddress
    private let fd: Int32
    private let loop: EventLoop
    private var token: UInt64 = 0
    private var onAccept: (@Sendable (Int32, SocketAddress) -> Void)?
    /// Out of descriptors: accepting waits for `acceptRetryDelay`, whatever the edges say.
    private var paused = false
    private var closed = false

    static let backlog: Int32 = 1024
    /// Connections accepted per pass before the loop serves its other connections; the rest are
    /// accepted in a deferred pass, since the listening socket's edge will not come again for them.
    static let acceptsPerEvent = 64
    /// After running out of descriptors, accepting pauses this long instead of spinning.
    static let acceptRetryDelay: DispatchTimeInterval = .milliseconds(100)

    /// Binds and listens on `address` (port 0 picks a free port; see `address.port` afterwards).
    /// Connections wait in the backlog until `start(onAccept:)`.
    /// `loop`: where accepting runs (an event loop of the proxy saves a thread hand-off per
    /// connection); by default a loop of its own. `start` and `close` must not be called on it.
    /// `reusePort`: SO_REUSEPORT, so that one listening socket per loop can share the address and
    /// the kernel spreads new connections over them (each reaches exactly one loop).
    public init(binding requested: SocketAddress, label: String, loop: EventLoop? = nil, reusePort: Bool = false) throws(IOError) {
        let fd = try Socket.makeStream(family: requested.family)
        Socket.setReuseAddress(fd)
        if reusePort {
            var one: Int32 = 1
            guard setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                let error = IOError("setsockopt(SO_REUSEPORT)", errno: errno)
                Socket.close(fd)
                throw error
            }
        }
        if requested.family == AF_INET6 {
            // "[::]" means IPv6 only here; listen on 0.0.0.0 separately for IPv4.
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        guard requested.withSockAddr({ bind(fd, $0, $1) }) == 0 else {
            let error = IOError("bind \(requested)", errno: errno)
            Socket.close(fd)
            throw error
        }
        guard listen(fd, Self.backlog) == 0 else {
            let error = IOError("listen \(requested)", errno: errno)
            Socket.close(fd)
            throw error
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.address = SocketAddress(storage: storage, length: length)
        self.fd = fd
        let loop = loop ?? EventLoop(index: 0, label: label)
        dispatchPrecondition(condition: .notOnQueue(loop.queue))
        self.loop = loop
        let registered: Result<UInt64, IOError> = loop.queue.sync {
            Result { () throws(IOError) in try loop.register(self, fd: fd) }
        }
        switch registered {
        case .success(let token):
            self.token = token
        case .failure(let error):
            Socket.close(fd)
            throw error
        }
    }

    /// Fails as binding would when another socket holds `address`, also one that set SO_REUSEPORT:
    /// a group of SO_REUSEPORT listeners would otherwise join another process's and silently share
    /// its connections. Binds a plain socket (SO_REUSEADDR only) and closes it at once. (A process
    /// of the same user can still join the group once it is bound; the kernel allows SO_REUSEPORT
    /// sharing only within one user, who could read this process's secrets anyway.)
    public static func checkAvailable(_ address: SocketAddress) throws(IOError) {
        let fd = try Socket.makeStream(family: address.family)
        defer { Socket.close(fd) }
        Socket.setReuseAddress(fd)
        if address.family == AF_INET6 {
            // As the listeners themselves: "[::]" is IPv6 only.
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        guard address.withSockAddr({ bind(fd, $0, $1) }) == 0 else {
            throw IOError("bind \(address)", errno: errno)
        }
    }

    /// The loop that accepts (and runs `onAccept`).
    public var acceptingLoop: EventLoop { loop }

    /// Starts accepting; `onAccept` gets each new non-blocking descriptor and the peer's address.
    public func start(onAccept: @escaping @Sendable (Int32, SocketAddress) -> Void) {
        dispatchPrecondition(condition: .notOnQueue(loop.queue))
        loop.queue.sync {
            guard !closed else { return }
            self.onAccept = onAccept
            // Connections that reached the backlog before now raised their edge already.
            loop.defer(self)
        }
    }

    /// Stops accepting and closes the listening socket. Connections already accepted go on.
    public func close() {
        dispatchPrecondition(condition: .notOnQueue(loop.queue))
        loop.queue.sync {
            guard !closed else { return }
            closed = true
            loop.deregister(fd: fd, token: token)
            Socket.close(fd)
        }
    }

    func handleEvents(_ ready: Readiness) {
        if ready.contains(.readable) { acceptAll() }
    }

    func runDeferred() {
        acceptAll()
    }

    private func acceptAll() {
        guard !paused, !closed, onAccept != nil else { return }
        for _ in 0..<Self.acceptsPerEvent {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    systemAccept4(fd, $0, &length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
                }
            }
            if client >= 0 {
                onAccept?(client, SocketAddress(storage: storage, length: length))
                if closed { return }
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK:
                return
            case EINTR, ECONNABORTED, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH,
                 EOPNOTSUPP, ENETUNREACH, EPERM:
                // accept(2): a network error pending on that one connection (or a firewall's
                // refusal) is reported here; it used up that connection, so go on with the next.
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors or memory: the pending connection stays queued; try again later.
                paused = true
                loop.queue.asyncAfter(deadline: .now() + Self.acceptRetryDelay) { [self] in
                    paused = false
                    acceptAll()
                }
                return
            default:
                return
            }
        }
        // The budget ran out with connections possibly still waiting: no new edge announces them.
        loop.defer(self)
    }
}

/// glibc declares accept4 only under _GNU_SOURCE, which Swift's Glibc module does not set.
/// Accepting with SOCK_NONBLOCK | SOCK_CLOEXEC saves two fcntl calls per connection.
@_silgen_name("accept4")
private func systemAccept4(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?, _ flags: Int32) -> Int32
