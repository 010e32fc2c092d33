import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket whose accept source hands each new connection to a loop.
///
/// Accepting happens on the listener's serial queue (its own, or a loop's); the accepted
/// descriptor is then owned by the loop that `onAccept` gives it to.
/// @unchecked Sendable: `fd`, `address` and the source are set in `init`; `source` is cancelled and
/// `paused` is touched only on `queue`.
public final class Listener: @unchecked Sendable {
    public let address: SocketAddress
    private let fd: Int32
    private let queue: DispatchQueue
    private let source: any DispatchSourceRead
    private var onAccept: (@Sendable (Int32, SocketAddress) -> Void)?
    private var paused = false
    private var closed = false

    static let backlog: Int32 = 1024
    /// Connections accepted per readiness event before the queue runs other work.
    static let acceptsPerEvent = 64
    /// After running out of descriptors, accepting pauses this long instead of spinning.
    static let acceptRetryDelay: DispatchTimeInterval = .milliseconds(100)

    /// Binds and listens on `address` (port 0 picks a free port; see `address.port` afterwards).
    /// Connections wait in the backlog until `start(onAccept:)`.
    /// `queue`: where accepting runs (an event loop's queue saves a thread hand-off per connection);
    /// by default a queue of its own. `start` and `close` must not be called on it.
    public init(binding requested: SocketAddress, label: String, queue acceptQueue: DispatchQueue? = nil) throws(IOError) {
        let fd = try Socket.makeStream(family: requested.family)
        Socket.setReuseAddress(fd)
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
        self.queue = acceptQueue ?? DispatchQueue(label: label)
        self.source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: self.queue)
        source.setEventHandler { [unowned self] in self.acceptAll() }
        source.setCancelHandler { Socket.close(fd) }
    }

    /// Starts accepting; `onAccept` gets each new non-blocking descriptor and the peer's address.
    public func start(onAccept: @escaping @Sendable (Int32, SocketAddress) -> Void) {
        dispatchPrecondition(condition: .notOnQueue(queue))
        queue.sync {
            self.onAccept = onAccept
            source.resume()
        }
    }

    /// Stops accepting and closes the listening socket. Connections already accepted go on.
    public func close() {
        dispatchPrecondition(condition: .notOnQueue(queue))
        queue.sync {
            guard !closed else { return }
            closed = true
            if paused || onAccept == nil { source.resume() }
            source.cancel()
        }
    }

    private func acceptAll() {
        // Bounded, so that a flood of connections cannot hold the queue (an event loop's) for
        // long: the read source fires again while the backlog is not empty.
        for _ in 0..<Self.acceptsPerEvent {
            guard !closed else { return }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    systemAccept4(fd, $0, &length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
                }
            }
            if client >= 0 {
                onAccept?(client, SocketAddress(storage: storage, length: length))
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK:
                return
            case EINTR, ECONNABORTED, EPROTO:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors or memory: the pending connection stays readable, so back off.
                paused = true
                source.suspend()
                queue.asyncAfter(deadline: .now() + Self.acceptRetryDelay) { [self] in
                    guard paused, !closed else { return }
                    paused = false
                    source.resume()
                }
                return
            default:
                return
            }
        }
    }
}

/// glibc declares accept4 only under _GNU_SOURCE, which Swift's Glibc module does not set.
/// Accepting with SOCK_NONBLOCK | SOCK_CLOEXEC saves two fcntl calls per connection.
@_silgen_name("accept4")
private func systemAccept4(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?, _ flags: Int32) -> Int32
