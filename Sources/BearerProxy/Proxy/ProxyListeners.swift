/// The proxy's listening sockets: one per event loop, sharing one address (SO_REUSEPORT).
struct ProxyListeners: Sendable {
    let all: [Listener]

    init(_ listeners: [Listener]) {
        precondition(!listeners.isEmpty)
        all = listeners
    }

    /// The address they share, with the real port when the config said 0.
    var address: SocketAddress { all[0].address }

    func close() {
        all.forEach { $0.close() }
    }
}
