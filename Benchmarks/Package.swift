// swift-tools-version: 6.2
// Benchmarks that need a release build and minutes of machine time; CI never resolves this
// package. Run from this folder: `swift run -c release StoreBench [messages-per-device] [--store URL]`.
import PackageDescription

let package = Package(
    name: "ReflexBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "reflex", path: "../"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .executableTarget(
            name: "StoreBench",
            dependencies: [
                .product(name: "ReflexStore", package: "reflex"),
                .product(name: "ReflexCore", package: "reflex"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "StoreBench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
