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
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // Metrics API and its Prometheus backend; neither depends on SwiftNIO.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // OpenSSL from the system (Debian: libssl-dev).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
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
        .target(
            name: "BearerProxy",
            dependencies: [
                "BearerTLS",
                "BearerSync",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "bearer-proxy",
            dependencies: [
                "BearerProxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "BearerTLSTests", dependencies: ["BearerTLS", "BearerSync"]),
        .testTarget(name: "BearerProxyTests", dependencies: ["BearerProxy", "BearerTLS", "BearerSync"]),
    ],
    swiftLanguageModes: [.v6]
)
