import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore

/// A running temp-dir sample store and registry behind an ``HTTPAPI`` router, with one token per role.
struct HTTPTestFixture: Sendable {
    static let logger = Logger(label: "HTTPTests", factory: { _ in SwiftLogNoOpLogHandler() })
    /// A fixed "now": 2025-11-26T08:20:00Z.
    static let now: Int64 = 1_764_145_200_000

    let store: SQLiteSampleStore
    let registry: SQLiteDeviceRegistry
    let viewerToken: String
    let operatorToken: String
    let adminToken: String

    var api: HTTPAPI {
        HTTPAPI(
            stores: HTTPAPI.Stores(samples: store, queries: store, deadLetters: store),
            registry: HTTPAPI.Registry(devices: registry, tokens: registry),
            now: { Self.now },
            logger: Self.logger
        )
    }

    /// Runs `body` with a fresh fixture and the router's test client.
    static func run(
        maxPendingSamples: Int = 1_000_000,
        _ body: @escaping @Sendable (HTTPTestFixture, any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withTemporaryDirectoryAsync { directory in
            let store = try SQLiteSampleStore(
                configuration: SQLiteSampleStoreConfiguration(
                    directory: directory,
                    maxPendingSamples: maxPendingSamples
                ),
                logger: logger
            )
            let registry = try SQLiteDeviceRegistry(dataDirectory: directory)
            let fixture = HTTPTestFixture(
                store: store,
                registry: registry,
                viewerToken: try await registry.createOperatorToken(name: "view", role: .viewer).token,
                operatorToken: try await registry.createOperatorToken(name: "op", role: .operator).token,
                adminToken: try await registry.createOperatorToken(name: "adm", role: .admin).token
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                do {
                    let app = Application(router: fixture.api.makeRouter())
                    try await app.test(.router) { client in try await body(fixture, client) }
                    group.cancelAll()
                    try await group.waitForAll()
                } catch {
                    group.cancelAll()
                    throw error
                }
            }
        }
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
        guard let dictionary = object as? [String: Any] else { throw FixtureError("not a JSON object") }
        return dictionary
    }

    /// The `error.code` and `error.message` of a Reflex error body.
    static func error(_ response: TestResponse) throws -> (code: String, message: String) {
        let error = try json(response)["error"] as? [String: Any]
        return (error?["code"] as? String ?? "", error?["message"] as? String ?? "")
    }

    static func gzip(_ text: String) throws -> ByteBuffer {
        var buffer = ByteBuffer(string: text)
        return try buffer.compress(with: .gzip())
    }

    func append(_ device: String, _ metric: String, _ points: [(Int64, Double)]) async throws {
        let metric = try MetricName(validating: metric)
        try await store.append(
            TelemetryBatch(
                device: try DeviceID(validating: device),
                samples: points.map { Sample(metric: metric, timestamp: $0.0, value: $0.1) }
            )
        )
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
