internal import CHiredis

/// Encodes commands in RESP, the Redis protocol, with hiredis's formatter: every argument a bulk
/// string, so binary values (a sealed token) and arguments with spaces or line breaks go as they are.
public enum RedisCommand {
    /// The bytes of one command, `arguments[0]` being its name (`GET`, `SET`, ...).
    public static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        precondition(!arguments.isEmpty, "a Redis command has a name")
        // hiredis wants C arrays of pointers and lengths; the arguments are pinned for the call.
        var pinned = arguments.map { argument in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(argument.count, 1))
            argument.withUnsafeBufferPointer { bytes in
                if let base = bytes.baseAddress {
                    UnsafeMutableRawPointer(copy).copyMemory(from: base, byteCount: bytes.count)
                }
            }
            return copy
        }
        defer { for pointer in pinned { pointer.deallocate() } }
        let lengths = arguments.map(\.count)
        var target: UnsafeMutablePointer<CChar>?
        let written = pinned.withUnsafeMutableBufferPointer { pointers in
            pointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { argv in
                redisFormatCommandArgv(&target, Int32(arguments.count), argv.baseAddress, lengths)
            }
        }
        guard written > 0, let target else {
            // Only allocation can fail here; hiredis then returns -1.
            fatalError("hiredis could not format a command (out of memory)")
        }
        defer { redisFreeCommand(target) }
        return UnsafeRawBufferPointer(start: target, count: Int(written)).map { $0 }
    }

    /// `encode` for arguments given as text.
    public static func encode(_ arguments: String...) -> [UInt8] {
        encode(arguments.map { Array($0.utf8) })
    }
}
