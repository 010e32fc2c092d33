@testable import BearerTLS

/// A client and a server TLSConnection over a non-blocking socket pair,
/// driven by alternating calls the way an event loop would.
final class TLSPair {
    let sockets = SocketPair()
    let client: TLSConnection
    let server: TLSConnection

    init(client clientContext: TLSContext, server serverContext: TLSContext, serverName: String?) throws {
        client = try TLSConnection(context: clientContext, fileDescriptor: sockets.client, serverName: serverName)
        server = try TLSConnection(context: serverContext, fileDescriptor: sockets.server, serverName: nil)
    }

    /// Calls handshake() on each side in turn until neither wants I/O.
    func handshake() -> (client: TLSIOResult, server: TLSIOResult) {
        var clientResult = TLSIOResult.wantWrite
        var serverResult = TLSIOResult.wantRead
        for _ in 0..<1_000 where clientResult.isPending || serverResult.isPending {
            if clientResult.isPending { clientResult = client.handshake() }
            if serverResult.isPending { serverResult = server.handshake() }
        }
        return (clientResult, serverResult)
    }

    /// What a transfer did: the bytes that arrived and how the writer fared.
    struct Transfer {
        var received: [UInt8] = []
        var partialWrites = 0
        var wantWrites = 0
        var failure: TLSIOResult?
    }

    /// Sends `payload` from `sender` to `receiver`: writes until the socket
    /// is full, then reads until it is empty, and again until all arrived.
    func transfer(_ payload: [UInt8], from sender: TLSConnection, to receiver: TLSConnection) -> Transfer {
        var transfer = Transfer()
        var offset = 0
        var buffer = [UInt8](repeating: 0, count: 16_384)
        for _ in 0..<100_000 where transfer.received.count < payload.count && transfer.failure == nil {
            writing: while offset < payload.count {
                let result = payload[offset...].withUnsafeBytes { sender.write($0) }
                switch result {
                case .done(let count):
                    if count < payload.count - offset { transfer.partialWrites += 1 }
                    offset += count
                case .wantWrite:
                    transfer.wantWrites += 1
                    break writing
                case .wantRead:
                    break writing
                default:
                    transfer.failure = result
                    return transfer
                }
            }
            reading: while true {
                let result = buffer.withUnsafeMutableBytes { receiver.read(into: $0) }
                switch result {
                case .done(let count):
                    transfer.received += buffer[..<count]
                case .wantRead, .wantWrite:
                    break reading
                default:
                    transfer.failure = result
                    return transfer
                }
            }
        }
        return transfer
    }

    /// Reads once from `connection`, retrying while it wants input.
    func readOutcome(_ connection: TLSConnection) -> TLSIOResult {
        var buffer = [UInt8](repeating: 0, count: 1_024)
        var result = TLSIOResult.wantRead
        for _ in 0..<100 where result.isPending {
            result = buffer.withUnsafeMutableBytes { connection.read(into: $0) }
        }
        return result
    }
}

extension TLSIOResult {
    var isPending: Bool { self == .wantRead || self == .wantWrite }

    var error: TLSError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}
