import Foundation
public import Logging
public import ReflexCore
public import ServiceLifecycle

/// Every store a node uses, typed by role: what the pipeline, the broker, the HTTP API and the
/// CLI see. Only ``StoreBackend`` knows which database is behind them.
public struct NodeStores: Sendable {
    /// Telemetry writes (group commit; a completion means durable).
    public var samples: any SampleStore
    /// Reading samples back: latest values, raw ranges, rollups, statistics.
    public var queries: any SampleQuerying
    /// Rejected input with its reason.
    public var deadLetters: any DeadLetterStore
    /// Device attributes and online/offline status.
    public var deviceStates: any DeviceStateStore
    /// Detector checkpoints, anomaly bands and the commit log detection catches up from.
    public var detection: any DetectionStore
    /// The MQTT broker's persistent sessions and retained messages.
    public var brokerState: any BrokerStateStore
    /// Retention and the committed series.
    public var maintenance: any SampleMaintenance
    /// Devices, their tokens and operator tokens.
    public var registry: any RegistryStore
    /// Alarms, commands, audit, overrides, the autonomy switch and rule versions.
    public var automation: any AutomationStateStore
    /// What must run while the stores are in use (the group-commit writer, a connection pool),
    /// started before every other service and stopped after them.
    public var services: [ServiceGroupConfiguration.ServiceConfiguration]
    /// Where the data is, for logs and messages (paths, or a URL without its password).
    public var location: String

    /// Bundles stores; ``StoreBackend`` is the usual way to get one.
    public init(
        samples: any SampleStore,
        queries: any SampleQuerying,
        deadLetters: any DeadLetterStore,
        deviceStates: any DeviceStateStore,
        detection: any DetectionStore,
        brokerState: any BrokerStateStore,
        maintenance: any SampleMaintenance,
        registry: any RegistryStore,
        automation: any AutomationStateStore,
        services: [ServiceGroupConfiguration.ServiceConfiguration],
        location: String
    ) {
        self.samples = samples
        self.queries = queries
        self.deadLetters = deadLetters
        self.deviceStates = deviceStates
        self.detection = detection
        self.brokerState = brokerState
        self.maintenance = maintenance
        self.registry = registry
        self.automation = automation
        self.services = services
        self.location = location
    }
}

/// Opens every store of a node from one setting: the one place that knows which database is in use.
public enum StoreBackend {
    /// Opens every store at `location`.
    /// - Parameters:
    ///   - location: the `store` setting.
    ///   - directory: the node's data directory (the SQLite files live there).
    ///   - logsCommits: keep the commit log that detection catches up from.
    ///   - logger: the stores' logger.
    /// - Throws: ``StoreBackendError`` naming the setting, or the database's own error.
    public static func open(
        _ location: StoreLocation,
        directory: String,
        logsCommits: Bool,
        logger: Logger
    ) async throws -> NodeStores {
        switch location {
        case .sqlite:
            return try openSQLite(directory: directory, logsCommits: logsCommits, logger: logger)
        case .postgres(let settings):
            return try await openPostgres(settings, logsCommits: logsCommits, logger: logger)
        }
    }

    /// Reading stored data back, as `reflex query` does beside a running node.
    /// - Returns: nil when the location holds no samples yet (no `samples.sqlite`).
    public static func openReader(
        _ location: StoreLocation,
        directory: String,
        logger: Logger
    ) async throws
        -> (any SampleQuerying & DeadLetterStore & DeviceStateStore & DetectionStore)?
    {
        switch location {
        case .sqlite:
            let path = (directory as NSString).appendingPathComponent("samples.sqlite")
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            return try SQLiteSampleStore(
                configuration: SQLiteSampleStoreConfiguration(directory: directory),
                logger: logger
            )
        case .postgres(let settings):
            let database = try await PostgresDatabase.open(settings, logger: logger)
            return try await PostgresSampleStore.open(
                database: database,
                configuration: PostgresSampleStoreConfiguration(),
                logger: logger,
                now: NodeClock.system.now
            )
        }
    }

    /// The device registry alone at `location`, as the CLI opens it beside a running node.
    public static func openRegistry(_ location: StoreLocation, directory: String) async throws -> any RegistryStore {
        switch location {
        case .sqlite:
            return try openSQLiteRegistry(directory: directory)
        case .postgres(let settings):
            let database = try await PostgresDatabase.open(
                settings,
                logger: Logger(label: "reflex.store", factory: { _ in SwiftLogNoOpLogHandler() })
            )
            return PostgresDeviceRegistry(database: database)
        }
    }

    /// Every store in one PostgreSQL database (`store: postgres://...`): one connection pool,
    /// the schema migrated at open, the sample store's group-commit writer as a service.
    /// - Throws: ``StoreBackendError`` naming the setting, the host and PostgreSQL's error.
    public static func openPostgres(
        _ settings: PostgresConnectionSettings,
        logsCommits: Bool,
        logger: Logger,
        clock: NodeClock = .system
    ) async throws -> NodeStores {
        let database = try await PostgresDatabase.open(settings, logger: logger)
        let samples: PostgresSampleStore
        do {
            samples = try await PostgresSampleStore.open(
                database: database,
                configuration: PostgresSampleStoreConfiguration(logsCommits: logsCommits),
                logger: logger,
                now: clock.now
            )
        } catch {
            database.close()
            throw StoreBackendError("store \(settings): \(error)")
        }
        return NodeStores(
            samples: samples,
            queries: samples,
            deadLetters: samples,
            deviceStates: samples,
            detection: samples,
            brokerState: PostgresBrokerStateStore(database: database, clock: clock),
            maintenance: samples,
            registry: PostgresDeviceRegistry(database: database, clock: clock),
            automation: PostgresAutomationStore(database: database),
            // The pool first: it stops last, after the writer's final group commit.
            services: [
                .init(service: database, serviceName: "postgres-pool"),
                .init(service: samples, serviceName: "sample-store"),
            ],
            location: settings.description
        )
    }

    /// The embedded default: `registry.sqlite`, `samples.sqlite` and `automation.sqlite` in
    /// `directory` (created if missing), as every earlier release kept them.
    /// - Parameters:
    ///   - directory: the node's data directory.
    ///   - logsCommits: keep the commit log that detection catches up from (off without detection).
    ///   - logger: the sample store's logger.
    /// - Throws: the database's error when a file cannot be opened or migrated.
    public static func openSQLite(directory: String, logsCommits: Bool, logger: Logger) throws -> NodeStores {
        let registry = try SQLiteDeviceRegistry(dataDirectory: directory)
        let samples = try SQLiteSampleStore(
            configuration: SQLiteSampleStoreConfiguration(directory: directory, logsCommits: logsCommits),
            logger: logger
        )
        let automation = try SQLiteAutomationStore(dataDirectory: directory)
        return NodeStores(
            samples: samples,
            queries: samples,
            deadLetters: samples,
            deviceStates: samples,
            detection: samples,
            brokerState: samples,
            maintenance: samples,
            registry: registry,
            automation: automation,
            services: [.init(service: samples, serviceName: "sample-store")],
            location: directory
        )
    }

    /// The device registry alone, as `reflex device`, `reflex token`, `reflex simulate` and the
    /// demo open it beside (or before) a running node: `registry.sqlite` in `directory`.
    public static func openSQLiteRegistry(directory: String) throws -> any RegistryStore {
        try SQLiteDeviceRegistry(dataDirectory: directory)
    }
}

/// A store that cannot be opened: names the setting and the database's error.
public struct StoreBackendError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
