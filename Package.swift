// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "bearer-proxy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bearer-proxy", targets: ["bearer-proxy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // Metrics API and its Prometheus backend; neither depends on SwiftNIO.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // OpenSSL from the system (Debian: libssl-dev), found on the default header and library
        // paths. No pkgConfig: its -L would put the system directory ahead of the one
        // scripts/build-release.sh uses to link the archives instead of the shared libraries.
        .systemLibrary(
            name: "COpenSSL",
            providers: [.apt(["libssl-dev"])]
        ),
        // libyaml from the system (Debian: libyaml-dev), for the config file; no pkgConfig, as above.
        .systemLibrary(
            name: "CYAML",
            providers: [.apt(["libyaml-dev"])]
        ),
        // hiredis from the system (Debian: libhiredis-dev), for the Redis protocol only; no pkgConfig,
        // as above.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // Linux epoll (sys/epoll.h), which the Glibc module does not import; no library to link.
        .systemLibrary(name: "CEpoll"),
        // glibc's malloc.h (mallinfo2, malloc_trim), which the Glibc module does not import either.
        .systemLibrary(name: "CMalloc"),
        // One-line forwarders for the OpenSSL macros Swift cannot import. No logic.
        .target(
            name: "COpenSSLShims",
            dependencies: ["COpenSSL"]
        ),
        // Shared state across threads: a lock ThreadSanitizer can see.
        .target(name: "BearerSync"),
        // The only Swift module that imports OpenSSL.
        .target(
            name: "BearerTLS",
            dependencies: ["COpenSSL", "COpenSSLShims", "BearerSync"]
        ),
        // The only Swift module that imports hiredis: RESP commands and replies, no I/O.
        .target(name: "BearerRedis", dependencies: ["CHiredis"]),
        .target(
            name: "BearerProxy",
            dependencies: [
                "BearerTLS",
                "BearerRedis",
                "BearerSync",
                .product(name: "Logging", package: "swift-log"),
                "CYAML",
                "CEpoll",
                "CMalloc",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "bearer-proxy",
            dependencies: [
                "BearerProxy",
                "BearerTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: [
                // Release builds on Linux link with lld and pack the executable's ~80,000 relative
                // relocations as DT_RELR (15 KB instead of 1.9 MB of RELA entries the loader reads at
                // every start): 1-2 MiB less RSS at start, and the binary stays position-independent.
                // DT_RELR needs glibc >= 2.36 (Debian bookworm); an older ld.so refuses the binary
                // with "version `GLIBC_ABI_DT_RELR' not found" instead of misbehaving.
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                    .when(platforms: [.linux], configuration: .release)
                ),
            ]
        ),
        .testTarget(name: "BearerTLSTests", dependencies: ["BearerTLS", "BearerSync"]),
        .testTarget(name: "BearerRedisTests", dependencies: ["BearerRedis"]),
        .testTarget(name: "BearerProxyTests", dependencies: ["BearerProxy", "BearerTLS", "BearerRedis", "BearerSync"]),
    ],
    swiftLanguageModes: [.v6]
)
