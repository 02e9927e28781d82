import Foundation
import ReflexStore
import ReflexTestSupport
import Testing

@Suite("PostgreSQL database: open, migrations, errors", .enabled(if: PostgresTestSupport.enabled))
struct PostgresDatabaseTests {
    let steps = [
        PostgresMigration("test v1: a table", ["CREATE TABLE t (id BIGINT PRIMARY KEY)"]),
        PostgresMigration("test v2: a row", ["INSERT INTO t (id) VALUES (1)"]),
    ]

    @Test("migrations run once each, also when several opens race")
    func migrationsRunOnce() async throws {
        let settings = try PostgresTestSupport.freshDatabase()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let database = try await PostgresDatabase.open(
                        settings,
                        migrations: steps,
                        logger: PostgresTestSupport.logger
                    )
                    database.close()
                }
            }
            try await group.waitForAll()
        }
        let cluster = try TemporaryPostgres.shared()
        #expect(try cluster.psql("SELECT count(*) FROM t", database: settings.database) == "1\n")
        #expect(try cluster.psql("SELECT count(*) FROM reflex_migrations", database: settings.database) == "2\n")
    }

    @Test("a failing step leaves nothing of itself and says why")
    func failingStepRollsBack() async throws {
        let settings = try PostgresTestSupport.freshDatabase()
        let broken =
            steps + [
                PostgresMigration("test v3: broken", ["CREATE TABLE u (id BIGINT)", "SELECT nonsense FROM nowhere"])
            ]
        let error = await #expect(throws: StoreBackendError.self) {
            try await PostgresDatabase.open(settings, migrations: broken, logger: PostgresTestSupport.logger)
        }
        #expect(error?.message.contains("nowhere") == true)
        let cluster = try TemporaryPostgres.shared()
        #expect(
            try cluster.psql(
                "SELECT count(*) FROM pg_tables WHERE tablename IN ('t', 'u')",
                database: settings.database
            ) == "0\n"
        )
    }

    @Test("a database migrated by a newer build is refused, naming the step")
    func newerSchemaRefused() async throws {
        let settings = try PostgresTestSupport.freshDatabase()
        let newer = steps + [PostgresMigration("test v9: from the future", ["SELECT 1"])]
        try await PostgresDatabase.open(settings, migrations: newer, logger: PostgresTestSupport.logger).close()
        let error = await #expect(throws: StoreBackendError.self) {
            try await PostgresDatabase.open(settings, migrations: steps, logger: PostgresTestSupport.logger)
        }
        #expect(error?.message.contains("test v9: from the future") == true)
        #expect(error?.message.contains("newer Reflex") == true)
    }

    @Test("a wrong password names the host and PostgreSQL's reason, never the password")
    func wrongPassword() async throws {
        var settings = try PostgresTestSupport.freshDatabase()
        settings.password = "not-the-password"
        let error = await #expect(throws: StoreBackendError.self) {
            try await PostgresDatabase.open(settings, logger: PostgresTestSupport.logger)
        }
        let message = error?.message ?? ""
        #expect(message.contains("127.0.0.1:\(settings.port)"))
        #expect(message.contains("password authentication failed"))
        #expect(!message.contains("not-the-password"))
    }

    @Test("an unknown database and a closed port are named")
    func unreachable() async throws {
        var settings = try PostgresTestSupport.freshDatabase()
        settings.database = "no_such_database"
        let missing = await #expect(throws: StoreBackendError.self) {
            try await PostgresDatabase.open(settings, logger: PostgresTestSupport.logger)
        }
        #expect(missing?.message.contains("no_such_database") == true)

        settings.port = 1
        let refused = await #expect(throws: StoreBackendError.self) {
            try await PostgresDatabase.open(settings, logger: PostgresTestSupport.logger)
        }
        #expect(refused?.message.contains("cannot connect to PostgreSQL at 127.0.0.1:1") == true)
        #expect(refused?.message.localizedCaseInsensitiveContains("refused") == true)
    }
}
