import Foundation
import Logging
import ReflexStore
import ReflexTestSupport

/// Where the PostgreSQL tests get their database: the process's throwaway cluster
/// (``TemporaryPostgres``), a fresh database per test.
enum PostgresTestSupport {
    /// Whether the PostgreSQL tests run: PostgreSQL is installed, or this is CI (where a missing
    /// PostgreSQL must fail the run, not skip it).
    static let enabled = TemporaryPostgres.isInstalled || ProcessInfo.processInfo.environment["CI"] == "true"

    /// A fresh, empty database's connection settings.
    static func freshDatabase() throws -> PostgresConnectionSettings {
        let cluster = try TemporaryPostgres.shared()
        let name = try cluster.createDatabase()
        guard case .postgres(let settings) = try StoreLocation.parse(cluster.url(database: name)) else {
            throw TemporaryPostgres.Unavailable(description: "the cluster's URL did not parse")
        }
        return settings
    }

    static let logger = Logger(label: "test.postgres")
}
