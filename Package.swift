// swift-tools-version: 6.2
import PackageDescription

/// One set of compiler settings for every target (see ../shared/STYLE.md §2).
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "reflex",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "reflex", targets: ["reflex"]),
        .library(name: "ReflexMQTT", targets: ["ReflexMQTT"]),
        .library(name: "ReflexCore", targets: ["ReflexCore"]),
        .library(name: "ReflexStore", targets: ["ReflexStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(
            name: "ReflexCore",
            dependencies: [.product(name: "Collections", package: "swift-collections")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReflexMQTT",
            dependencies: [
                "ReflexCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReflexStore",
            dependencies: [
                "ReflexCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReflexAnalytics",
            dependencies: ["ReflexCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReflexAutomation",
            dependencies: [
                "ReflexCore",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReflexSimulator",
            dependencies: [
                "ReflexCore",
                "ReflexMQTT",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The loop: ingest, detection and automation runners, the event bus, the command
        // publisher. Depends on store protocols only (no database, no HTTP).
        .target(
            name: "ReflexNode",
            dependencies: [
                "ReflexCore",
                "ReflexMQTT",
                "ReflexStore",
                "ReflexAnalytics",
                "ReflexAutomation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReflexServer",
            dependencies: [
                "ReflexNode",
                "ReflexCore",
                "ReflexMQTT",
                "ReflexStore",
                "ReflexAnalytics",
                "ReflexAutomation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            // The dashboard's source files; compiled in as DashboardAssets+Generated.swift by
            // scripts/embed-dashboard.py, so the binary serves them with no files beside it.
            exclude: ["Dashboard/Assets"],
            swiftSettings: strictSettings
        ),
        // `reflex serve --demo` and `reflex bench autonomy`: the demo fleet's rules, the
        // maintenance crew, the decision-latency probe and its report.
        .target(
            name: "ReflexDemo",
            dependencies: [
                "ReflexServer",
                "ReflexNode",
                "ReflexStore",
                "ReflexCore",
                "ReflexMQTT",
                "ReflexAutomation",
                "ReflexSimulator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "reflex",
            dependencies: [
                "ReflexServer",
                "ReflexDemo",
                "ReflexNode",
                "ReflexStore",
                "ReflexAnalytics",
                "ReflexSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReflexTestSupport",
            dependencies: ["ReflexCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReflexCoreTests",
            dependencies: ["ReflexCore", "ReflexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReflexMQTTTests",
            dependencies: [
                "ReflexMQTT", "ReflexTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReflexAnalyticsTests",
            dependencies: ["ReflexAnalytics", "ReflexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReflexAutomationTests",
            dependencies: ["ReflexAutomation", "ReflexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReflexSimulatorTests",
            dependencies: ["ReflexSimulator", "ReflexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReflexStoreTests",
            dependencies: ["ReflexStore", "ReflexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReflexServerTests",
            dependencies: [
                "ReflexServer", "ReflexNode", "ReflexStore", "ReflexTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReflexDemoTests",
            dependencies: [
                "ReflexDemo", "ReflexServer", "ReflexNode", "ReflexStore", "ReflexTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
