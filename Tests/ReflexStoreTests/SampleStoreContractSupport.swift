import Foundation
import GRDB
import Logging
import ReflexCore
import ReflexStore
import ReflexTestSupport
import ServiceLifecycle
import Testing

/// Every role a sample store plays, as the contract suite sees it.
typealias ContractStore = SampleStore & SampleQuerying & DeadLetterStore & DeviceStateStore & DetectionStore
    & SampleMaintenance & Service

/// The backends the contract suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// SQLite always; PostgreSQL where it is installed (and always in CI, where a missing server
    /// must fail the run rather than skip it).
    static var available: [StoreKind] { PostgresTestSupport.enabled ? allCases : [.sqlite] }

    var testDescription: String { rawValue }
}

/// Where a contract store lives: a temporary directory or a fresh PostgreSQL database.
enum ContractLocation: Sendable {
    case directory(String)
    case postgres(PostgresConnectionSettings)
}

/// The settings the contract tests vary, applied to either backend's configuration.
struct ContractSettings: Sendable {
    var logsCommits = false
    var retention = SampleRetention()
    var maxPendingSamples = 1_000_000
    var deadLetterPayloadLimit = 4096
    /// PostgreSQL only: samples per transaction.
    var maxGroupSamples = 50_000
}

/// Opens sample stores of either backend for the contract suite.
enum SampleStoreContract {
    static let logger = Logger(label: "ReflexStoreTests.contract", factory: { _ in SwiftLogNoOpLogHandler() })
    /// A fixed wall clock: commit times are then checkable.
    static let wallClock: Int64 = 1_764_145_200_000

    /// A new, empty location of `kind`, removed (for SQLite) afterwards.
    static func withLocation<T>(_ kind: StoreKind, _ body: (ContractLocation) async throws -> T) async throws -> T {
        switch kind {
        case .sqlite:
            return try await SampleStoreFixtures.withTemporaryDirectory { directory in
                try await body(.directory(directory))
            }
        case .postgres:
            return try await body(.postgres(try PostgresTestSupport.freshDatabase()))
        }
    }

    /// Opens the store at `location` (migrating it), runs its writer while `body` runs, then
    /// stops the writer and closes the store.
    static func withStore<T: Sendable>(
        at location: ContractLocation,
        settings: ContractSettings = ContractSettings(),
        migrations: [PostgresMigration] = PostgresSampleSchema.migrations,
        _ body: @Sendable (any ContractStore) async throws -> T
    ) async throws -> T {
        let (store, database) = try await open(location, settings: settings, migrations: migrations)
        defer { database?.close() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            do {
                let result = try await body(store)
                group.cancelAll()
                try await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// A fresh store of `kind`.
    static func withStore<T: Sendable>(
        _ kind: StoreKind,
        settings: ContractSettings = ContractSettings(),
        _ body: @Sendable (any ContractStore) async throws -> T
    ) async throws -> T {
        try await withLocation(kind) { location in try await withStore(at: location, settings: settings, body) }
    }

    /// Opens a store without running its writer; the caller closes the database.
    static func open(
        _ location: ContractLocation,
        settings: ContractSettings = ContractSettings(),
        migrations: [PostgresMigration] = PostgresSampleSchema.migrations
    ) async throws -> (any ContractStore, PostgresDatabase?) {
        switch location {
        case .directory(let directory):
            var configuration = SQLiteSampleStoreConfiguration(directory: directory)
            configuration.logsCommits = settings.logsCommits
            configuration.retention = settings.retention
            configuration.maxPendingSamples = settings.maxPendingSamples
            configuration.deadLetterPayloadLimit = settings.deadLetterPayloadLimit
            let store = try SQLiteSampleStore(configuration: configuration, logger: logger, now: { wallClock })
            return (store, nil)
        case .postgres(let connection):
            let database = try await PostgresDatabase.open(connection, migrations: migrations, logger: logger)
            var configuration = PostgresSampleStoreConfiguration()
            configuration.logsCommits = settings.logsCommits
            configuration.retention = settings.retention
            configuration.maxPendingSamples = settings.maxPendingSamples
            configuration.deadLetterPayloadLimit = settings.deadLetterPayloadLimit
            configuration.maxGroupSamples = settings.maxGroupSamples
            do {
                let store = try await PostgresSampleStore.open(
                    database: database,
                    configuration: configuration,
                    logger: logger,
                    now: { wallClock }
                )
                return (store, database)
            } catch {
                database.close()
                throw error
            }
        }
    }
}

extension SampleStoreContract {
    /// Runs `sql` on the SQLite file at `path` with a connection of its own, as another process would.
    static func execute(in path: String, sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: sql) }
    }
}

extension DeadLetterStore {
    /// Records a dead letter and waits until it is durable.
    func recordDeadLetterDurably(
        receivedAt: Int64,
        device: DeviceID?,
        topic: String,
        reason: String,
        payload: [UInt8]
    ) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            recordDeadLetter(receivedAt: receivedAt, device: device, topic: topic, reason: reason, payload: payload) {
                continuation.resume(with: $0)
            }
        }
    }
}
