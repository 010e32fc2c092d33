/// The newest resumable session per server name, for a client context.
///
/// Keyed by name because RFC 8446 §4.6.1 says a client MUST only resume with
/// a server whose name the original certificate covered, and SHOULD only
/// resume with the same SNI. A proxy talks to a few upstreams, so a short
/// list with the oldest name evicted first is enough.
struct TLSSessionCache {
    static let capacity = 32

    /// Oldest first.
    private var entries: [(serverName: String, session: TLSSession)] = []

    func session(for serverName: String) -> TLSSession? {
        entries.last { $0.serverName == serverName }?.session
    }

    /// Replaces any session for `serverName`; returns what it dropped so the
    /// caller can free it outside its lock.
    mutating func store(_ session: TLSSession, for serverName: String) -> [TLSSession] {
        var dropped: [TLSSession] = []
        if let index = entries.firstIndex(where: { $0.serverName == serverName }) {
            dropped.append(entries.remove(at: index).session)
        }
        entries.append((serverName, session))
        if entries.count > Self.capacity {
            dropped.append(entries.removeFirst().session)
        }
        return dropped
    }

    var count: Int { entries.count }
}
