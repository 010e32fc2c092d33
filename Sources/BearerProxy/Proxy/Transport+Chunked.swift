extension Transport {
    /// Queues `payload` as one chunk of the chunked transfer coding (RFC 9112 §7.1):
    /// "<hex size>\r\n<payload>\r\n". The size line is built on the stack, not allocated.
    func writeChunk(_ payload: UnsafeRawBufferPointer) {
        guard !payload.isEmpty else { return }  // a zero-size chunk would end the body
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { line in
            var digits = 0
            var rest = payload.count
            while rest > 0 {
                digits += 1
                rest >>= 4
            }
            for index in 0..<digits {
                let nibble = (payload.count >> ((digits - 1 - index) * 4)) & 0xF
                line[index] = chunkHexDigits[nibble]
            }
            line[digits] = 0x0D
            line[digits + 1] = 0x0A
            write(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(line)[..<(digits + 2)]))
        }
        write(payload)
        write(chunkCRLF)
    }

    /// last-chunk and an empty trailer section; trailers are never forwarded.
    func writeLastChunk() {
        write(lastChunkBytes)
    }
}

private let chunkHexDigits: [UInt8] = Array("0123456789abcdef".utf8)
private let chunkCRLF: [UInt8] = [0x0D, 0x0A]
private let lastChunkBytes: [UInt8] = Array("0\r\n\r\n".utf8)
