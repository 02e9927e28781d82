import Foundation
import ReflexCore
import ReflexStore
import ReflexTestSupport
import Testing

/// Lists that SQLite sorts by bytes keep that order on a PostgreSQL database whose default
/// collation is a language's (as most production databases are), where "B" sorts after "a".
@Suite("PostgreSQL stores sort in byte order", .enabled(if: PostgresTestSupport.enabled))
struct PostgresCollationTests {
    @Test("device ids, retained topics and session client ids come back in byte order under an en-US collation")
    func byteOrder() async throws {
        let cluster = try TemporaryPostgres.shared()
        let name = "collation_\(ProcessInfo.processInfo.processIdentifier)_\(UInt32.random(in: 0...UInt32.max))"
        try cluster.psql(
            "CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        )
        // The database's own order differs from bytes, or this test would prove nothing.
        #expect(try cluster.psql("SELECT 'B' < 'a'", database: name) == "f\n")
        guard case .postgres(let settings) = try StoreLocation.parse(cluster.url(database: name)) else {
            Issue.record("the cluster's URL did not parse")
            return
        }
        let database = try await PostgresDatabase.open(
            settings,
            migrations: PostgresRegistrySchema.migrations + PostgresBrokerStateSchema.migrations,
            logger: PostgresTestSupport.logger
        )
        defer { database.close() }
        let registry = PostgresDeviceRegistry(database: database)
        for id in ["b", "a_1", "B", "a", "a-1"] {
            _ = try await registry.addDevice(id: try DeviceID(validating: id), name: nil, type: nil, labels: [:])
        }
        #expect(try await registry.devices(type: nil, label: nil).map(\.id.rawValue) == ["B", "a", "a-1", "a_1", "b"])

        let broker = PostgresBrokerStateStore(database: database)
        let topics = ["b/1", "a/1", "B/1", "a-1"]
        try await broker.applyBrokerState(
            topics.map { .upsertSession(.init(clientID: $0, metadata: Data())) },
            retainedUpserts: topics.map { .init(topic: $0, metadata: Data(), payload: Data()) },
            retainedDeletions: [],
            removingDocument: nil
        )
        let sorted = ["B/1", "a-1", "a/1", "b/1"]
        #expect(try await broker.loadRetainedRows().map(\.topic) == sorted)
        #expect(try await broker.loadSessionRows().map(\.clientID) == sorted)
    }
}
