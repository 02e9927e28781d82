import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore

/// Like ``HTTPTestFixture``, but the test builds the ``HTTPAPI`` itself (events, device states,
/// fleet providers), and the fixture keeps the node's events at hand.
struct DashboardTestFixture: Sendable {
    let base: HTTPTestFixture
    let events: NodeEvents

    var store: SQLiteSampleStore { base.store }
    var registry: SQLiteDeviceRegistry { base.registry }

    /// Runs `body` with a fresh store and registry and the router of the API `makeAPI` builds.
    static func run(
        makeAPI: @escaping @Sendable (DashboardTestFixture) -> HTTPAPI = { $0.api() },
        _ body: @escaping @Sendable (DashboardTestFixture, any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withTemporaryDirectoryAsync { directory in
            let logger = HTTPTestFixture.logger
            let store = try SQLiteSampleStore(
                configuration: SQLiteSampleStoreConfiguration(directory: directory),
                logger: logger
            )
            let registry = try SQLiteDeviceRegistry(dataDirectory: directory)
            let fixture = DashboardTestFixture(
                base: HTTPTestFixture(
                    store: store,
                    registry: registry,
                    viewerToken: try await registry.createOperatorToken(name: "view", role: .viewer).token,
                    operatorToken: try await registry.createOperatorToken(name: "op", role: .operator).token,
                    adminToken: try await registry.createOperatorToken(name: "adm", role: .admin).token
                ),
                events: NodeEvents()
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                do {
                    let app = Application(router: makeAPI(fixture).makeRouter())
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

    /// The API with the fixture's events and the store as device-state source.
    func api(
        anomalies: (any FleetAnomalyProvider)? = nil,
        automation: (any FleetAutomationProvider)? = nil,
        withEvents: Bool = true
    ) -> HTTPAPI {
        HTTPAPI(
            stores: HTTPAPI.Stores(samples: store, queries: store, deadLetters: store, deviceStates: store),
            registry: HTTPAPI.Registry(devices: registry, tokens: registry),
            pipeline: HTTPAPI.Pipeline(
                events: withEvents ? events : nil,
                fleetAnomalies: anomalies,
                fleetAutomation: automation
            ),
            now: { HTTPTestFixture.now },
            logger: HTTPTestFixture.logger
        )
    }

    @discardableResult
    func addDevice(_ id: String, type: String = "pump", labels: [String: String] = [:]) async throws -> String {
        try await registry.addDevice(id: try DeviceID(validating: id), type: type, labels: labels).token
    }
}
