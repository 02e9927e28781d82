import Foundation
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
package import PostgresNIO
public import ServiceLifecycle

/// One PostgreSQL database that every PostgreSQL store of a node shares: a postgres-nio
/// connection pool, checked at open (a wrong URL fails there, with PostgreSQL's own words) and
/// migrated to the schema this build knows.
///
/// The pool runs from ``open(_:logger:)`` until ``close()`` or, inside a service group, until
/// graceful shutdown ends ``run()``. List it before the stores' own services so that it stops
/// after them (their last group commit still has a connection).
public final class PostgresDatabase: Service, Sendable {
    /// Where the database is (its description hides the password).
    public let settings: PostgresConnectionSettings
    /// The pool. Queries wait for a connection while PostgreSQL is unreachable and fail after
    /// the pool's connect timeout.
    package let client: PostgresClient
    package let logger: Logger
    private let pool: Task<Void, Never>

    private init(settings: PostgresConnectionSettings, client: PostgresClient, logger: Logger) {
        self.settings = settings
        self.client = client
        self.logger = logger
        self.pool = Task { await client.run() }
    }

    /// Connects, checks that the database answers and applies the migrations it lacks.
    /// - Parameters:
    ///   - settings: the parsed `store` URL.
    ///   - migrations: the schema, in order (see ``PostgresSchema``).
    ///   - logger: the pool's logger.
    /// - Throws: ``StoreBackendError`` naming the setting, the host and PostgreSQL's error.
    public static func open(
        _ settings: PostgresConnectionSettings,
        migrations: [PostgresMigration] = PostgresSchema.migrations,
        logger: Logger
    ) async throws -> PostgresDatabase {
        try await checkReachable(settings, logger: logger)
        var configuration = PostgresClient.Configuration(
            host: settings.host,
            port: settings.port,
            username: settings.user,
            password: settings.password,
            database: settings.database,
            tls: tls(settings)
        )
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 8
        configuration.options.minimumConnections = 1
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let database = PostgresDatabase(settings: settings, client: client, logger: logger)
        do {
            try await PostgresMigrator(database: database).migrate(migrations)
        } catch {
            database.close()
            throw StoreBackendError("store \(settings): the schema could not be migrated: \(describe(error))")
        }
        return database
    }

    /// Runs until graceful shutdown, then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
        await pool.value
    }

    /// Closes the pool; queries after this fail.
    public func close() {
        pool.cancel()
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    package func transaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.withTransaction(logger: logger) { connection in try await body(connection) }
    }

    /// Runs one statement outside a transaction, returning its rows.
    package func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await client.query(query, logger: logger)
    }

    /// A one-off connection, so that a bad URL fails at once with the server's reason instead
    /// of a pool that keeps retrying.
    private static func checkReachable(_ settings: PostgresConnectionSettings, logger: Logger) async throws {
        var configuration = PostgresConnection.Configuration(
            host: settings.host,
            port: settings.port,
            username: settings.user,
            password: settings.password,
            database: settings.database,
            tls: try connectionTLS(settings)
        )
        configuration.options.connectTimeout = .seconds(5)
        do {
            let connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(),
                configuration: configuration,
                id: 0,
                logger: logger
            )
            try? await connection.close()
        } catch {
            throw StoreBackendError(
                "store \(settings): cannot connect to PostgreSQL at \(settings.host):\(settings.port): \(describe(error))"
            )
        }
    }

    private static func tls(_ settings: PostgresConnectionSettings) -> PostgresClient.Configuration.TLS {
        switch settings.tls {
        case .disable: .disable
        case .require: .require(.makeClientConfiguration())
        }
    }

    private static func connectionTLS(
        _ settings: PostgresConnectionSettings
    ) throws -> PostgresConnection.Configuration.TLS {
        switch settings.tls {
        case .disable: return .disable
        case .require:
            do {
                return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            } catch {
                throw StoreBackendError("store \(settings): TLS could not be set up: \(error)")
            }
        }
    }

    /// PostgreSQL's own words for an error (message, SQL state, detail), never the password.
    /// postgres-nio hides them behind a generic description.
    package static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else {
            if let channel = error as? ChannelError, case .connectTimeout = channel {
                return "the connection timed out"
            }
            return String(describing: error)
        }
        if let info = error.serverInfo {
            var text = info[.message] ?? "error"
            if let state = info[.sqlState] { text += " (SQLSTATE \(state))" }
            if let detail = info[.detail] { text += ": \(detail)" }
            return text
        }
        if let underlying = error.underlying {
            if let io = underlying as? IOError { return io.description }
            return "\(error.code): \(String(describing: underlying))"
        }
        return error.code.description
    }
}
