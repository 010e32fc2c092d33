internal import COpenSSL

/// Process-wide OpenSSL setup, done once before the first OpenSSL object is made.
public enum OpenSSLLibrary {
    /// The OpenSSL this process runs, as OpenSSL names it ("OpenSSL 3.0.19 27 Jan 2026"). Release
    /// builds link OpenSSL in (scripts/build-release.sh), so this is the one to check against
    /// security advisories, not whatever libssl the system has.
    public static var version: String {
        String(cString: OpenSSL_version(OPENSSL_VERSION))
    }

    /// OPENSSL_INIT_NO_ATEXIT: by default OpenSSL frees its global state (locks, the random
    /// generator) in an atexit handler, while event-loop and timer threads may still be running
    /// and using it; a token refresh firing during exit would then crash. The process's memory
    /// goes away at exit anyway.
    private static let initialized: Bool = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1

    /// Call at every entry point that may be the process's first use of OpenSSL.
    @inline(__always)
    static func initialize() {
        _ = initialized
    }
}
