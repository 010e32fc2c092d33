internal import COpenSSL
import BearerSync

/// Signs many JWS inputs with one key and algorithm, such as a DPoP proof per request.
///
/// `JWSSigningKey.sign` sets up a digest-and-sign context for every signature, and in OpenSSL 3
/// that setup (fetching the digest and signature implementations, a key context) costs more than
/// an ECDSA P-256 signature itself. Here it is done once, into a template that each signature
/// copies (`EVP_MD_CTX_copy_ex`), so a signature costs little more than the signing.
public final class JWSSigner: Sendable {
    public let algorithm: JWSAlgorithm
    private let key: JWSSigningKey
    /// Only copied from, one copy at a time.
    private let template: Locked<DigestContext>

    public init(key: JWSSigningKey, algorithm: JWSAlgorithm) throws(TLSError) {
        guard key.supports(algorithm) else {
            throw TLSError(kind: .configuration, reason: "\(algorithm.rawValue) needs a different key type than \(key.keyType.rawValue)")
        }
        self.key = key
        self.algorithm = algorithm
        let context = try DigestContext()
        OpenSSLErrorQueue.clear()
        var keyContext: OpaquePointer? = nil
        guard EVP_DigestSignInit(context.pointer, &keyContext, EVP_sha256(), nil, key.key.pointer) == 1 else {
            throw OpenSSLErrorQueue.error(.configuration, "cannot start \(algorithm.rawValue) signature")
        }
        if algorithm == .ps256 { try JWSVerifier.configurePSS(keyContext) }
        template = Locked(context)
    }

    /// The JWS signature of `input`, in the form RFC 7518 puts in the third part (before base64url).
    public func sign(_ input: [UInt8]) throws(TLSError) -> [UInt8] {
        let context = try DigestContext()
        OpenSSLErrorQueue.clear()
        let copied = template.withLock { EVP_MD_CTX_copy_ex(context.pointer, $0.pointer) }
        guard copied == 1 else { throw OpenSSLErrorQueue.error(.configuration, "cannot copy the signing context") }
        var length = 0
        let bytes = input.isEmpty ? [0] : input
        var signature: [UInt8] = []
        let status: Int32 = bytes.withUnsafeBufferPointer { data in
            guard EVP_DigestSign(context.pointer, nil, &length, data.baseAddress, input.count) == 1 else { return 0 }
            signature = [UInt8](repeating: 0, count: length)
            return EVP_DigestSign(context.pointer, &signature, &length, data.baseAddress, input.count)
        }
        guard status == 1 else { throw OpenSSLErrorQueue.error(.configuration, "\(algorithm.rawValue) signature failed") }
        signature.removeSubrange(length...)
        return algorithm == .es256 ? try ECDSASignature.joseForm(fromDER: signature) : signature
    }
}
