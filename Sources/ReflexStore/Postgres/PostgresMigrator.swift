import Foundation
import Logging
import PostgresNIO

/// One versioned step of the PostgreSQL schema: its statements run in one transaction, once per
/// database, and its name is recorded in `reflex_migrations`.
public struct PostgresMigration: Sendable, Equatable {
    /// The step's unique name, recorded when applied ("samples v1: series, samples, rollups").
    public var name: String
    /// SQL statements, run in order (PostgreSQL takes one statement per query).
    public var statements: [String]

    public init(_ name: String, _ statements: [String]) {
        self.name = name
        self.statements = statements
    }
}

/// Applies the migrations a database lacks, as GRDB's migrator does for SQLite: in order, each
/// in one transaction with its record, under an advisory lock so that two nodes (or a node and
/// the CLI) starting together do not both apply a step.
struct PostgresMigrator {
    /// `pg_advisory_xact_lock` key: "reflex" in ASCII.
    static let lockKey: Int64 = 0x7265_666C_6578
    let database: PostgresDatabase

    /// Applies the missing steps of `migrations`.
    /// - Throws: when a step fails (nothing of it stays), or when the database holds steps
    ///   this build does not know (it was migrated by a newer Reflex).
    func migrate(_ migrations: [PostgresMigration]) async throws {
        try await database.transaction { connection in
            let logger = database.logger
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            _ = try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS reflex_migrations (
                    name TEXT PRIMARY KEY,
                    applied_at BIGINT NOT NULL
                )
                """,
                logger: logger
            )
            var applied: Set<String> = []
            for try await name in try await connection.query("SELECT name FROM reflex_migrations", logger: logger)
                .decode(String.self)
            {
                applied.insert(name)
            }
            let known = Set(migrations.map(\.name))
            if let unknown = applied.subtracting(known).sorted().first {
                throw MigrationError(
                    "the database holds the migration '\(unknown)', which this build does not know: it was written by a newer Reflex"
                )
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                _ = try await connection.query(
                    "INSERT INTO reflex_migrations (name, applied_at) VALUES (\(migration.name), \(now))",
                    logger: logger
                )
                logger.info("store: migration applied", metadata: ["migration": "\(migration.name)"])
            }
        }
    }
}

/// A schema that cannot be brought up to date.
struct MigrationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
