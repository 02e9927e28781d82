public import Logging
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
