internal import COpenSSL
#if canImport(Glibc)
internal import Glibc
#endif

/// The BIO between OpenSSL and a non-blocking socket: what OpenSSL's own socket BIO does, plus
/// one fact it does not keep: whether the last read emptied the socket.
///
/// An edge-triggered event loop must read until the socket says EAGAIN, since no new edge comes
/// for bytes already waiting. With read-ahead on, OpenSSL asks for as much as its buffer takes; a
/// read that returns less than that, or EAGAIN, means the socket was empty at that moment, and
/// bytes arriving later raise a new edge. So after `SSL_read`, "nothing buffered in OpenSSL and
/// the socket was drained" is enough to stop, without the read that would only say EAGAIN: one
/// system call less per response.
///
/// Writes use `send(MSG_NOSIGNAL)`, so a peer that has gone is EPIPE, never a SIGPIPE.
final class SocketBIO {
    /// What the BIO callbacks read and write; one per connection, freed with it.
    struct State {
        var fd: Int32
        /// The last read returned fewer bytes than asked for, end of stream, or EAGAIN.
        var drained = false
        var eof = false
    }

    let state: UnsafeMutablePointer<State>

    init(fd: Int32) {
        state = .allocate(capacity: 1)
        state.initialize(to: State(fd: fd))
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// A new BIO over this socket. The SSL it is handed to owns (and frees) it; `self` must
    /// outlive that SSL.
    func makeBIO() -> OpaquePointer? {
        guard let method = Self.method.pointer, let bio = BIO_new(method) else { return nil }
        BIO_set_data(bio, UnsafeMutableRawPointer(state))
        BIO_set_init(bio, 1)
        return bio
    }

    /// The BIO_METHOD, made once per process.
    /// @unchecked Sendable: set up completely before it is published and never changed after;
    /// OpenSSL only reads a BIO_METHOD once it is in use.
    private struct Method: @unchecked Sendable {
        let pointer: OpaquePointer?
    }

    private static let method = Method(pointer: {
        guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "bearer-proxy socket") else {
            return nil
        }
        BIO_meth_set_read_ex(method, socketRead)
        BIO_meth_set_write_ex(method, socketWrite)
        BIO_meth_set_ctrl(method, socketControl)
        return method
    }())
}

private func socketState(_ bio: OpaquePointer?) -> UnsafeMutablePointer<SocketBIO.State> {
    BIO_get_data(bio)!.assumingMemoryBound(to: SocketBIO.State.self)
}

/// BIO read: 1 with `count` bytes, or 0 with the retry flag set (EAGAIN) or not (EOF, error in errno).
private func socketRead(_ bio: OpaquePointer?, _ data: UnsafeMutablePointer<CChar>?, _ length: Int,
                        _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    let state = socketState(bio)
    BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
    while true {
        let n = Glibc.read(state.pointee.fd, data, length)
        if n > 0 {
            state.pointee.drained = n < length
            count?.pointee = n
            return 1
        }
        count?.pointee = 0
        if n == 0 {
            state.pointee.drained = true
            state.pointee.eof = true
            return 0
        }
        switch errno {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            state.pointee.drained = true
            BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY)
            return 0
        default:
            return 0
        }
    }
}

/// BIO write: 1 with `count` bytes, or 0 with the retry flag set (EAGAIN) or not (error in errno).
private func socketWrite(_ bio: OpaquePointer?, _ data: UnsafePointer<CChar>?, _ length: Int,
                         _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    let state = socketState(bio)
    BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
    while true {
        let n = send(state.pointee.fd, data, length, Int32(MSG_NOSIGNAL))
        if n >= 0 {
            count?.pointee = n
            return 1
        }
        count?.pointee = 0
        switch errno {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            BIO_set_flags(bio, BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY)
            return 0
        default:
            return 0
        }
    }
}

/// Only what OpenSSL asks of a socket BIO: flush (nothing to do) and end of stream (for its
/// "unexpected EOF" report). Everything else is not supported (0).
private func socketControl(_ bio: OpaquePointer?, _ command: Int32, _ argument: Int, _ pointer: UnsafeMutableRawPointer?) -> Int {
    switch command {
    case BIO_CTRL_FLUSH:
        return 1
    case BIO_CTRL_EOF:
        return socketState(bio).pointee.eof ? 1 : 0
    default:
        return 0
    }
}
