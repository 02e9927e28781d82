import Foundation
public import Logging
public import ReflexCore
import ReflexMQTT
public import ReflexNode
import ReflexStore
public import ServiceLifecycle
import UnixSignals

/// One Reflex node: every long-lived component as a `Service`, run in one `ServiceGroup` that
/// shuts down gracefully on SIGTERM and SIGINT.
///
/// Today that is the stores (opened by ``StoreBackend``: SQLite files in the data directory),
/// the embedded MQTT broker, whose clients are checked against the device registry (see
/// ``DeviceAuthenticator``) and whose sessions are kept in the store, the sample store fed by
/// MQTT telemetry, live detection (``DetectionService``, unless `detection.enabled` is false)
/// and the HTTP API (``HTTPAPIService``, unless `http.listen` is off); automation joins the group
/// as it arrives, in dependency order (store first, HTTP last; shutdown in reverse).
///
/// ```swift
/// let configuration = try NodeConfiguration.load(configFile: nil, environment: env, overrides: flags)
/// try await Node(configuration: configuration, logger: Logger(label: "reflex")).run()
/// ```
public struct Node: Service {
    /// The validated configuration the node runs with.
    public let configuration: NodeConfiguration
    private let logger: Logger
    private let announceAdminToken: @Sendable (String) -> Void
    private let attach: @Sendable (NodeParts) -> [ServiceGroupConfiguration.ServiceConfiguration]
    private let clock: NodeClock
    private let handlesSignals: Bool
    private let metrics: NodeMetrics

    /// - Parameters:
    ///   - configuration: a configuration from ``NodeConfiguration/load(configFile:environment:overrides:)``
    ///     (which has checked the data directory and TLS files).
    ///   - logger: the node's logger; components get children of it with their own `component` metadata.
    ///   - announceAdminToken: called once, at the first start, with a text that contains a newly
    ///     created admin operator token (it is stored only hashed, so this is the only chance to
    ///     see it); default: write it to standard output. Never logged.
    ///   - attach: more services to run in the node's group, after automation and before HTTP,
    ///     given the node's parts (`reflex serve --demo` adds its simulated fleet); default none.
    ///   - clock: the node's one source of time, handed to every component (default: the system's).
    ///   - handlesSignals: whether SIGTERM and SIGINT shut the node down; false when it runs inside
    ///     a group that handles them itself (`reflex bench autonomy`); default true.
    ///   - metrics: the registry `GET /metrics` serves (default: a new one for this node).
    public init(
        configuration: NodeConfiguration,
        logger: Logger,
        announceAdminToken: @escaping @Sendable (String) -> Void = Node.writeToStandardOutput,
        attach: @escaping @Sendable (NodeParts) -> [ServiceGroupConfiguration.ServiceConfiguration] = { _ in [] },
        clock: NodeClock = .system,
        handlesSignals: Bool = true,
        metrics: NodeMetrics = NodeMetrics()
    ) {
        self.clock = clock
        self.metrics = metrics
        self.configuration = configuration
        self.logger = logger
        self.announceAdminToken = announceAdminToken
        self.attach = attach
        self.handlesSignals = handlesSignals
    }

    /// Writes `text` to standard output, unbuffered.
    public static func writeToStandardOutput(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// The text printed when the first admin token is created.
    static func adminTokenAnnouncement(_ token: String) -> String {
        """

        Reflex created an admin operator token ('\(OperatorToken.initialAdminName)'), because none existed.
        Store it now; it cannot be shown again (only a salted hash is kept):

            \(token)

        Use it as the MQTT password (any user name) for admin access, as the bearer token of the
        HTTP API, and to sign in to the dashboard. `reflex token create --role admin --name NAME` makes more;
        `reflex token list` and `reflex token revoke ID` manage them.


        """
    }

    /// Runs until SIGTERM/SIGINT or a graceful shutdown of an enclosing group, then drains every
    /// service and returns. Throws if a service fails.
    public func run() async throws {
        let mqtt = configuration.mqtt
        logger.info(
            "Starting Reflex node",
            metadata: [
                "reflex.version": "\(ReflexVersion.current)",
                "node.dataDirectory": "\(absolutePath(configuration.dataDirectory))",
                "store": "\(configuration.store)",
                "mqtt.listen": "\(mqtt.tcp.map { "\($0)" } ?? "off")",
                "mqtt.tlsListen": "\(mqtt.tls.map { "\($0)" } ?? "off")",
                "http.listen": "\(configuration.http.listen.map { "\($0)" } ?? "off")",
                "mqtt.maxConnections": "\(mqtt.maxConnections)",
                "mqtt.maxPacketSize": "\(mqtt.maxPacketSize)",
                "log.level": "\(configuration.logLevel)",
            ]
        )
        var storeLogger = logger
        storeLogger[metadataKey: "component"] = "store"
        let stores: NodeStores
        do {
            // The commit log is what detection catches up from; without detection nothing reads it.
            stores = try await StoreBackend.open(
                configuration.store,
                directory: configuration.dataDirectory,
                logsCommits: configuration.detection.isEnabled,
                logger: storeLogger
            )
            if let token = try await stores.registry.ensureAdminToken() {
                announceAdminToken(Self.adminTokenAnnouncement(token))
                logger.notice(
                    "Created the initial admin operator token (printed once on standard output)",
                    metadata: ["auth.tokenName": "\(OperatorToken.initialAdminName)"]
                )
            }
        } catch {
            logger.error("Reflex node failed", metadata: ["error": "\(error)"])
            throw error
        }
        let registry = stores.registry
        if configuration.allowAnonymous {
            logger.warning(
                "ANONYMOUS MQTT ACCESS IS ON: clients without credentials may connect, publish and subscribe anywhere (except $SYS). Use only for development; remove --allow-anonymous / REFLEX_ALLOW_ANONYMOUS / mqtt.allowAnonymous in production",
                metadata: ["mqtt.authenticator": "registry+anonymous"]
            )
        } else {
            logger.info(
                "MQTT clients authenticate with a device id and token, or an admin operator token",
                metadata: ["mqtt.authenticator": "registry", "registry.location": "\(registry.location)"]
            )
        }

        // After the databases are open, so that files the embedded database just made are covered too (`reflex
        // serve` also sets umask 077 first thing; an embedding process may not have).
        let tightened = PrivateDataDirectory.tighten(configuration.dataDirectory)
        if !tightened.isEmpty {
            let changes = tightened.map { "\($0.path) was 0\(String($0.oldMode, radix: 8))" }
            logger.notice(
                "Restricted the data directory to its owner (directory 0700, files 0600)",
                metadata: [
                    "node.dataDirectory": "\(absolutePath(configuration.dataDirectory))",
                    "node.tightened": "\(changes.joined(separator: ", "))",
                ]
            )
        }
        let retention = SampleRetentionService(
            store: stores.maintenance,
            clock: clock.monotonic,
            now: clock.now,
            logger: storeLogger
        )
        let events = NodeEvents()
        let committedSamples = PublishingSampleStore(
            base: InstrumentedSampleStore(base: stores.samples, metrics: metrics),
            committed: events.telemetry
        )
        let stateRecorder = DeviceStateRecorder(store: stores.deviceStates, statusChanges: events.deviceStatus)
        var ingestLogger = logger
        ingestLogger[metadataKey: "component"] = "ingest"
        let seriesGate = SeriesGate(
            limits: configuration.seriesLimits,
            existing: stores.maintenance.seriesKeys(),
            logger: ingestLogger,
            now: clock.now,
            howToRaise: SettingKey.waysToSet(of:)
        )
        let ingestor = TelemetryIngestor(
            store: committedSamples,
            deadLetters: stores.deadLetters,
            stateRecorder: stateRecorder,
            seriesGate: seriesGate,
            now: clock.now
        )
        // Command acks go to automation; everything else to the ingestor.
        let (acks, ackInput) = AsyncStream.makeStream(
            of: ReceivedCommandAck.self,
            bufferingPolicy: .bufferingNewest(10_000)
        )
        let interceptor = CommandAckInterceptor(base: ingestor, continuation: ackInput)

        var brokerLogger = logger
        brokerLogger[metadataKey: "component"] = "mqtt"
        var authLogger = logger
        authLogger[metadataKey: "component"] = "auth"
        let authenticator = DeviceAuthenticator(
            devices: registry,
            operators: registry,
            allowsAnonymous: configuration.allowAnonymous,
            logger: authLogger
        )
        let broker = MQTTBroker(
            configuration: mqtt,
            authenticator: authenticator,
            authorizer: authenticator,
            sessionStore: StoreSessionStore(store: stores.brokerState),
            interceptor: interceptor,
            metricsFactory: metrics.factory,
            logger: brokerLogger
        )
        var automationLogger = logger
        automationLogger[metadataKey: "component"] = "automation"
        let automation = AutomationService(
            store: stores.automation,
            events: events,
            publisher: broker,
            devices: registry,
            queries: stores.queries,
            acks: acks,
            configuration: configuration.automation,
            rulesDirectory: configuration.automation.rulesDirectory(dataDirectory: configuration.dataDirectory),
            logger: automationLogger
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] =
            stores.services + [
                .init(service: stateRecorder, serviceName: "device-state"),
                .init(service: retention, serviceName: "retention"),
                .init(service: broker, serviceName: "mqtt-broker"),
                // Closes MQTT connections and event streams whose credential was revoked, by any process.
                .init(
                    service: RevocationWatcher(
                        registry: registry,
                        connections: broker,
                        streams: events.openStreams,
                        clock: ContinuousClock(),
                        logger: authLogger
                    ),
                    serviceName: "revocation-watcher"
                ),
            ]
        // Detection feeds automation: it starts first and stops after it.
        let detection = makeDetection(stores: stores, events: events)
        if let detection { services.append(.init(service: detection, serviceName: "detection")) }
        services.append(.init(service: automation, serviceName: "automation"))
        let seriesAlarms = SeriesLimitAlarmService(gate: seriesGate, automation: automation)
        services.append(.init(service: seriesAlarms, serviceName: "series-limits"))
        services += attach(NodeParts(automation: automation, events: events))
        let storeStatistics: @Sendable () -> IngestStatistics = { stores.queries.ingestStatistics() }
        metrics.attach(
            MetricSources(
                store: storeStatistics,
                ingest: { ingestor.statistics },
                seriesGate: seriesGate,
                detection: detection,
                automation: automation,
                broker: broker
            )
        )
        if let listen = configuration.http.listen {
            var httpLogger = logger
            httpLogger[metadataKey: "component"] = "http"
            var api = HTTPAPI(
                stores: HTTPAPI.Stores(
                    samples: committedSamples,
                    queries: stores.queries,
                    deadLetters: stores.deadLetters,
                    deviceStates: stores.deviceStates
                ),
                registry: HTTPAPI.Registry(devices: registry, tokens: registry),
                pipeline: HTTPAPI.Pipeline(
                    ingestCounters: { ingestor.statistics },
                    events: events,
                    detection: detection,
                    automation: automation,
                    fleetAnomalies: detection,
                    fleetAutomation: automation
                ),
                configuration: configuration.http,
                now: clock.now,
                logger: httpLogger
            )
            api.seriesGate = seriesGate
            api.observability = NodeObservability(
                metrics: metrics,
                health: HealthMonitor(
                    store: storeStatistics,
                    broker: broker,
                    detection: detection,
                    automation: automation,
                    now: clock.now
                )
            )
            services.append(.init(service: HTTPAPIService(api: api, listen: listen), serviceName: "http-api"))
        } else {
            logger.info("HTTP API is off", metadata: ["http.listen": "off"])
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                // Started in this order, stopped in reverse: HTTP and the broker stop taking
                // telemetry before the store commits its last group.
                services: services,
                gracefulShutdownSignals: handlesSignals ? [.sigterm, .sigint] : [],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            logger.error("Reflex node failed", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("Reflex node stopped")
    }

    /// The live detection service, unless `detection.enabled` is false.
    private func makeDetection(stores: NodeStores, events: NodeEvents) -> DetectionService? {
        guard configuration.detection.isEnabled else {
            logger.info("Detection is off", metadata: ["detection.enabled": "false"])
            return nil
        }
        var detectionLogger = logger
        detectionLogger[metadataKey: "component"] = "detection"
        return DetectionService(
            configuration: configuration.detection,
            scores: stores.samples,
            store: stores.detection,
            devices: stores.registry,
            events: events,
            clock: clock.monotonic,
            now: clock.now,
            logger: detectionLogger
        )
    }

    private func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

/// What a node hands to services attached with `Node(attach:)`.
public struct NodeParts: Sendable {
    /// The node's automation service (rules, alarms, commands, overrides).
    public let automation: AutomationService
    /// The node's in-process event streams (subscribe before the group starts).
    public let events: NodeEvents
}
