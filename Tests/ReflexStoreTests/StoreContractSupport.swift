import Foundation
import GRDB
import Logging
import ReflexStore
import ReflexTestSupport
import Synchronization
import Testing

/// The backends a contract suite runs against: SQLite always, PostgreSQL where it is installed
/// (and always in CI, where a missing PostgreSQL must fail the run).
enum Backend: String, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// The backends to run here.
    static let available: [Backend] = PostgresTestSupport.enabled ? [.sqlite, .postgres] : [.sqlite]

    var testDescription: String { rawValue }
}

/// One test's storage: a temporary data directory (SQLite) or a fresh database (PostgreSQL).
/// Every ``PostgresDatabase`` it opens is a pool of its own, so two stores opened from one home
/// see each other as two processes would. ``withStoreHome(_:_:)`` closes and removes it all.
final class StoreHome: Sendable {
    let backend: Backend
    let directory: String
    let settings: PostgresConnectionSettings?
    private let opened = Mutex<[PostgresDatabase]>([])

    init(_ backend: Backend) throws {
        self.backend = backend
        directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("reflex-contract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        settings = backend == .postgres ? try PostgresTestSupport.freshDatabase() : nil
    }

    /// The PostgreSQL settings; only for ``Backend/postgres``.
    func postgresSettings() throws -> PostgresConnectionSettings {
        try #require(settings, "a PostgreSQL database asked of a \(backend) home")
    }

    /// A new pool on this home's database, migrated with `migrations`, closed with the home.
    func openDatabase(_ migrations: [PostgresMigration]) async throws -> PostgresDatabase {
        let database = try await PostgresDatabase.open(
            try postgresSettings(),
            migrations: migrations,
            logger: PostgresTestSupport.logger
        )
        opened.withLock { $0.append(database) }
        return database
    }

    /// Runs one SQL statement as the superuser on this home's database (PostgreSQL only).
    @discardableResult
    func psql(_ sql: String) throws -> String {
        try TemporaryPostgres.shared().psql(sql, database: try postgresSettings().database)
    }

    /// Records a migration this build does not know, as a newer Reflex would have left it: in
    /// `file`'s GRDB migrations (SQLite), or after `schema` in `reflex_migrations` (PostgreSQL).
    func plantNewerMigration(
        _ name: String,
        sqliteFile file: String,
        postgresSchema schema: [PostgresMigration]
    )
        async throws
    {
        switch backend {
        case .sqlite:
            let queue = try DatabaseQueue(path: (directory as NSString).appendingPathComponent(file))
            try await queue.write {
                try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [name])
            }
        case .postgres:
            _ = try await openDatabase(schema + [PostgresMigration(name, ["SELECT 1"])])
        }
    }

    func close() {
        for database in opened.withLock({ $0 }) { database.close() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` with a fresh home for `backend`, then closes it.
func withStoreHome<T>(_ backend: Backend, _ body: (StoreHome) async throws -> T) async throws -> T {
    let home = try StoreHome(backend)
    defer { home.close() }
    return try await body(home)
}
