import Dispatch
import BearerSync

/// Resolves host names on a queue of its own, so `getaddrinfo` never blocks an event loop, and
/// keeps answers for a short time so that new upstream connections rarely wait for DNS.
final class AddressResolver: Sendable {
    private struct Entry {
        var addresses: [SocketAddress]
        var expires: UInt64
    }

    private let queue = DispatchQueue(label: "bearer-proxy.resolver")
    private let cache = Locked<[String: Entry]>([:])
    /// How long an answer is reused. getaddrinfo does not report the record's TTL.
    static let cacheLifetime: Duration = .seconds(30)

    /// Calls `completion` on `loop` with the addresses of `host` (a name or a numeric address).
    /// Numeric addresses and fresh cache entries complete at once, before this returns.
    func resolve(
        host: String, port: UInt16, on loop: EventLoop,
        _ completion: @escaping @Sendable (Result<[SocketAddress], IOError>) -> Void
    ) {
        if let numeric = SocketAddress(ip: host, port: port) {
            completion(.success([numeric]))
            return
        }
        let key = "\(host):\(port)"
        let now = EventLoop.now()
        if let cached = cache.withLock({ $0[key] }), cached.expires > now {
            completion(.success(cached.addresses))
            return
        }
        queue.async { [self] in
            let result: Result<[SocketAddress], IOError>
            do throws(IOError) {
                let addresses = try SocketAddress.resolveBlocking(host: host, port: port)
                if addresses.isEmpty {
                    result = .failure(IOError("resolve \(host)", errno: 0, detail: "no addresses"))
                } else {
                    result = .success(addresses)
                    let entry = Entry(addresses: addresses, expires: EventLoop.deadline(after: Self.cacheLifetime))
                    cache.withLock { $0[key] = entry }
                }
            } catch {
                result = .failure(error)
            }
            loop.execute { completion(result) }
        }
    }
}
