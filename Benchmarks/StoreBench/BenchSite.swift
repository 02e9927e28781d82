import Foundation
import GRDB
import Logging
import NIOSSL
import PostgresNIO
import ReflexCore
import ReflexStore

/// Where one phase's data lives, so that every phase starts empty: a fresh temporary directory
/// for `SQLiteSampleStore`, or a fresh database for `PostgresSampleStore`, created and dropped
/// through the `--store` URL's own database.
enum BenchSite: Sendable {
    case directory(String)
    /// The phase's database, and the URL's database it was created from.
    case database(PostgresConnectionSettings, admin: PostgresConnectionSettings)

    static let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    /// An empty place for one phase's store.
    static func fresh(_ location: StoreLocation) async throws -> BenchSite {
        switch location {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("store-bench-\(UUID().uuidString)").path
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return .directory(directory)
        case .postgres(let admin):
            var settings = admin
            settings.database = "storebench_\(UUID().uuidString.prefix(8).lowercased())"
            try await execute("CREATE DATABASE \(settings.database)", on: admin)
            return .database(settings, admin: admin)
        }
    }

    /// Deletes the directory, or drops the database.
    func remove() async {
        switch self {
        case .directory(let directory):
            try? FileManager.default.removeItem(atPath: directory)
        case .database(let settings, let admin):
            try? await Self.execute("DROP DATABASE IF EXISTS \(settings.database) WITH (FORCE)", on: admin)
        }
    }

    /// Opens the store as the product does, runs its writer while `body` runs, then stops the
    /// writer (its last group commit included) and closes the store.
    func withStore<T: Sendable>(
        _ body: @Sendable (any SampleStore & SampleQuerying) async throws -> T
    ) async throws -> T {
        let maxPending = ProcessInfo.processInfo.environment["MAX_PENDING"].flatMap { Int($0) }
        switch self {
        case .directory(let directory):
            var configuration = SQLiteSampleStoreConfiguration(directory: directory)
            if let maxPending { configuration.maxPendingSamples = maxPending }
            let store = try SQLiteSampleStore(configuration: configuration, logger: Self.logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                let result = try await body(store)
                group.cancelAll()
                try await group.waitForAll()
                return result
            }
        case .database(let settings, _):
            // What StoreBackend.openPostgres does: the pool (migrated at open), then the store.
            let database = try await PostgresDatabase.open(settings, logger: Self.logger)
            var configuration = PostgresSampleStoreConfiguration()
            if let maxPending { configuration.maxPendingSamples = maxPending }
            let store: PostgresSampleStore
            do {
                store = try await PostgresSampleStore.open(
                    database: database,
                    configuration: configuration,
                    logger: Self.logger,
                    now: NodeClock.system.now
                )
            } catch {
                database.close()
                throw error
            }
            defer { database.close() }
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                let result = try await body(store)
                group.cancelAll()
                try await group.waitForAll()
                return result
            }
        }
    }

    /// Prints the bytes the phase's samples take: the SQLite file after a checkpoint, or the
    /// PostgreSQL tables with their indexes and TOAST (WAL not counted).
    func printSize(samples: Double) async throws {
        switch self {
        case .directory(let directory):
            let (size, pages, free) = try Self.checkpointedSize(of: directory + "/samples.sqlite")
            print(
                "bytes on disk: \(size) for \(Int(samples)) samples = \(String(format: "%.1f", Double(size) / samples)) "
                    + "bytes/sample (pages \(pages), free \(free); includes series, 1m and 1h rollups)"
            )
        case .database(let settings, _):
            let (tables, databaseSize) = try await Self.withConnection(settings) { connection in
                var tables: [(String, Int64)] = []
                let rows = try await connection.query(
                    """
                    SELECT c.relname::text, pg_total_relation_size(c.oid)::bigint FROM pg_class AS c
                    JOIN pg_namespace AS n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC, 1
                    """,
                    logger: Self.logger
                )
                for try await (name, size) in rows.decode((String, Int64).self) { tables.append((name, size)) }
                var databaseSize: Int64 = 0
                let total = try await connection.query(
                    "SELECT pg_database_size(current_database())",
                    logger: Self.logger
                )
                for try await size in total.decode(Int64.self) { databaseSize = size }
                return (tables, databaseSize)
            }
            let size = tables.reduce(0) { $0 + $1.1 }
            let largest = tables.prefix(4).map { "\($0.0) \($0.1)" }.joined(separator: ", ")
            print(
                "bytes on disk: \(size) for \(Int(samples)) samples = \(String(format: "%.1f", Double(size) / samples)) "
                    + "bytes/sample (tables with indexes and TOAST: \(largest), ...; "
                    + "pg_database_size \(databaseSize) with the catalogs; WAL not counted)"
            )
        }
    }

    /// Before the query phase: on PostgreSQL, `VACUUM (ANALYZE)`, what autovacuum does to freshly
    /// loaded tables within a minute (planner statistics, visibility map, hint bits), so that the
    /// queries see the steady state rather than the first minute after a bulk load.
    func prepareForQueries() async throws {
        guard case .database(let settings, _) = self else { return }
        try await Self.execute("VACUUM (ANALYZE) samples, rollup_1m, rollup_1h, series", on: settings)
        print("(PostgreSQL: VACUUM (ANALYZE) of samples, rollup_1m, rollup_1h, series after loading)")
    }

    /// Times `runs` plain SQL scans of the minute rollup rows of `key`, in ms.
    func plainScanTimes(_ key: SeriesKey, runs: Int) async throws -> [Double] {
        let clock = ContinuousClock()
        var times: [Double] = []
        switch self {
        case .directory(let directory):
            let q = try DatabaseQueue(path: directory + "/samples.sqlite")
            for _ in 0..<runs {
                let t = clock.now
                _ = try q.read { db in
                    try Row.fetchOne(
                        db,
                        sql: """
                            SELECT sum(sum_value), min(min_value), max(max_value), sum(count), max(last_value),
                            count(bucket) FROM rollup_1m WHERE series = 2
                            """
                    )
                }
                times.append(Self.milliseconds(clock.now - t))
            }
        case .database(let settings, _):
            try await Self.withConnection(settings) { connection in
                var id: Int64 = 0
                let found = try await connection.query(
                    "SELECT id FROM series WHERE device = \(key.device.rawValue) AND metric = \(key.metric.rawValue)",
                    logger: Self.logger
                )
                for try await value in found.decode(Int64.self) { id = value }
                for _ in 0..<runs {
                    let t = clock.now
                    let rows = try await connection.query(
                        """
                        SELECT sum(sum_value), min(min_value), max(max_value), sum(count), max(last_value),
                        count(bucket) FROM rollup_1m WHERE series = \(id)
                        """,
                        logger: Self.logger
                    )
                    for try await _ in rows {}
                    times.append(Self.milliseconds(clock.now - t))
                }
            }
        }
        return times
    }

    /// The SQLite file's size after a WAL checkpoint, its pages and free pages (GRDB's
    /// synchronous calls, as the bench made them before it had a PostgreSQL mode).
    private static func checkpointedSize(of path: String) throws -> (size: Int, pages: Int, free: Int) {
        let q = try DatabaseQueue(path: path)
        try q.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let pages = try q.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
        let free = try q.read { db in try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0 }
        return (size, pages, free)
    }

    private static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    private static func execute(_ sql: String, on settings: PostgresConnectionSettings) async throws {
        try await withConnection(settings) { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            for try await _ in rows {}
        }
    }

    private static func withConnection<T: Sendable>(
        _ settings: PostgresConnectionSettings,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let tls: PostgresConnection.Configuration.TLS =
            switch settings.tls {
            case .disable: .disable
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        let configuration = PostgresConnection.Configuration(
            host: settings.host,
            port: settings.port,
            username: settings.user,
            password: settings.password,
            database: settings.database,
            tls: tls
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
