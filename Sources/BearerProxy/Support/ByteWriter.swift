/// Where built bytes (heads, log lines) go: a growing `[UInt8]`, or a `ByteWriter` over memory
/// reserved up front.
protocol ByteAppending {
    mutating func append(bytes: UnsafeRawBufferPointer)
    mutating func append(_ byte: UInt8)
}

extension ByteAppending {
    /// An ASCII literal.
    @inline(__always)
    mutating func append(_ literal: StaticString) {
        guard literal.hasPointerRepresentation else {  // a one-character literal
            literal.withUTF8Buffer { append(bytes: UnsafeRawBufferPointer($0)) }
            return
        }
        append(bytes: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// `source[range]`.
    @inline(__always)
    mutating func append(_ source: [UInt8], range: Range<Int>) {
        source.withUnsafeBytes { append(bytes: UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    @inline(__always)
    mutating func append(_ source: [UInt8]) {
        source.withUnsafeBytes { append(bytes: $0) }
    }

    /// `value` in decimal ASCII, without making a String.
    mutating func append(decimal value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        repeat {
            append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        } while divisor > 0
    }
}

extension Array: ByteAppending where Element == UInt8 {
    /// Appends raw bytes with one copy: `append(contentsOf:)` given an `UnsafeRawBufferPointer`
    /// takes the generic path, byte by byte; a typed buffer is copied at once.
    @inline(__always)
    mutating func append(bytes: UnsafeRawBufferPointer) {
        bytes.withMemoryRebound(to: UInt8.self) { append(contentsOf: $0) }
    }
}

/// Writes into memory reserved once, one copy per piece: for heads and log lines, which are built
/// from a few dozen small pieces, where `Array.append(contentsOf:)` costs over a hundred
/// instructions per call (uniqueness, capacity, the generic copy). Building heads that way was
/// the largest item of the proxy's own work per request.
struct ByteWriter: ByteAppending {
    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var count = 0
    /// A piece did not fit: the bytes written are incomplete and `ByteWriter.bytes` tries again, larger.
    private(set) var overflowed = false

    /// Writes into `buffer`, from its start.
    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    @inline(__always)
    mutating func append(bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        guard !overflowed, bytes.count <= buffer.count - count, let base = buffer.baseAddress else {
            overflowed = true
            return
        }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        guard !overflowed, count < buffer.count else {
            overflowed = true
            return
        }
        buffer[count] = byte
        count += 1
    }

    /// The bytes `write` produces, in one allocation of `capacity` bytes when they fit (the
    /// caller's estimate), else in twice as much, and so on: a low estimate costs time, never bytes.
    static func bytes(capacity: Int, _ write: (inout ByteWriter) -> Void) -> [UInt8] {
        var capacity = max(capacity, 64)
        while true {
            var fitted = false
            let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { storage, initialized in
                var writer = ByteWriter(UnsafeMutableRawBufferPointer(storage))
                write(&writer)
                fitted = !writer.overflowed
                initialized = fitted ? writer.count : 0
            }
            if fitted { return bytes }
            capacity *= 2
        }
    }

    /// The same for text (ASCII or UTF-8): a String of up to 15 bytes is stored inline, so a
    /// short one costs no allocation at all.
    static func string(capacity: Int, _ write: (inout ByteWriter) -> Void) -> String {
        var capacity = max(capacity, 16)
        while true {
            var fitted = false
            let text = String(unsafeUninitializedCapacity: capacity) { storage in
                var writer = ByteWriter(UnsafeMutableRawBufferPointer(storage))
                write(&writer)
                fitted = !writer.overflowed
                return fitted ? writer.count : 0
            }
            if fitted { return text }
            capacity *= 2
        }
    }
}
