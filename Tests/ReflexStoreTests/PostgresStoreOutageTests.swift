import Foundation
import ReflexCore
import ReflexStore
import ReflexTestSupport
import Testing

/// A PostgreSQL that goes away under the broker state and registry stores: their calls throw
/// (none reports success, a cached credential check included), and once the server is back the
/// same instances, the automation store's too, work again. The test has a cluster of its own, since it stops it.
@Suite("PostgreSQL stores during an outage", .enabled(if: PostgresTestSupport.enabled))
struct PostgresStoreOutageTests {
    @Test(
        "a stopped server makes every store throw, and they work again after it restarts",
        .timeLimit(.minutes(2))
    )
    func outage() async throws {
        let cluster = try TemporaryPostgres()
        defer { cluster.stop() }
        guard case .postgres(let settings) = try StoreLocation.parse(cluster.url(database: cluster.createDatabase()))
        else {
            Issue.record("the cluster's URL did not parse")
            return
        }
        let database = try await PostgresDatabase.open(
            settings,
            migrations: PostgresBrokerStateSchema.migrations + PostgresRegistrySchema.migrations
                + PostgresAutomationSchema.migrations,
            logger: PostgresTestSupport.logger
        )
        defer { database.close() }
        let broker = PostgresBrokerStateStore(database: database)
        let registry = PostgresDeviceRegistry(database: database)
        let automation = PostgresAutomationStore(database: database)
        let id = try DeviceID(validating: "pump-7")
        let (_, token) = try await registry.addDevice(id: id, name: nil, type: nil, labels: [:])
        #expect(try await registry.authenticate(device: id, token: token) != nil)  // cached now

        try cluster.stopServer(immediate: true)
        // Each call waits for the pool to give up on a connection (about 20 s here), so only
        // the two whose success would be a lie to a device are tried: the broker write (a
        // PUBACK) and a cached credential check (a revoked device let in).
        await #expect(throws: (any Error).self) {
            try await broker.applyBrokerState(
                [.upsertSession(.init(clientID: "a", metadata: Data()))],
                retainedUpserts: [],
                retainedDeletions: [],
                removingDocument: nil
            )
        }
        let check = await #expect(throws: RegistryError.self) { try await registry.verify(device: id, token: token) }
        #expect(check?.code == .storage)
        #expect(check?.message.contains(settings.description) == true)

        try cluster.start()
        // The pool reconnects with its own backoff, which a test cannot drive: poll, bounded.
        try await eventually(within: .seconds(60)) {
            try await broker.applyBrokerState(
                [.upsertSession(.init(clientID: "a", metadata: Data()))],
                retainedUpserts: [],
                retainedDeletions: [],
                removingDocument: nil
            )
        }
        #expect(try await broker.loadSessionRows().map(\.clientID) == ["a"])
        #expect(try await registry.authenticate(device: id, token: token) != nil)
        try await automation.apply([.setting(key: "k", json: "{}")])
        #expect(try await automation.load().settings == ["k": "{}"])
    }

    /// Retries `body` until it succeeds, every 200 ms, and rethrows its last error after `limit`.
    private func eventually(within limit: Duration, _ body: () async throws -> Void) async throws {
        let deadline = ContinuousClock.now + limit
        while true {
            do {
                return try await body()
            } catch  where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
