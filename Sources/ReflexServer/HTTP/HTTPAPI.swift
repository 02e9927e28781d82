import Foundation
public import Hummingbird
public import Logging
public import NIOCore
import ReflexCore
public import ReflexMQTT
public import ReflexNode
public import ReflexStore

/// Builds the HTTP API: the JSON read API under `/api/v1`, the InfluxDB v2 compatible
/// `POST /api/v2/write`, `GET /health` and `GET /metrics` (see ``observability``), as a
/// Hummingbird `Application` (a `Service`).
///
/// The dashboard's own files (`/`, `/assets/...`, see ``DashboardMiddleware``) are public; every
/// other route but `/health` (and `/metrics` with `http.metricsPublic`) needs an operator token
/// (`Authorization: Bearer <token>` or `Token <token>`); reads need role viewer, writes operator. Errors are JSON, see ``APIError``.
/// The routes are documented in `docs/api.md`.
///
/// ```swift
/// let api = HTTPAPI(
///     stores: HTTPAPI.Stores(samples: store, queries: store, deadLetters: store),
///     registry: HTTPAPI.Registry(devices: registry, tokens: registry),
///     pipeline: HTTPAPI.Pipeline(events: events, detection: detection),
///     logger: logger
/// )
/// let app = api.makeApplication(listen: endpoint)   // add to the ServiceGroup
/// ```
public struct HTTPAPI: Sendable {
    /// Where writes go.
    public let samples: any SampleStore
    /// Where reads come from.
    public let queries: any SampleQuerying
    /// Where rejected writes are kept, and read from.
    public let deadLetters: any DeadLetterStore
    /// The registered devices.
    public let devices: any DeviceDirectory
    /// Checks operator tokens.
    public let tokens: any OperatorTokenVerifier
    /// Limits and the listen address.
    public let configuration: HTTPAPIConfiguration
    /// The MQTT ingestor's counters for `/api/v1/ingest/stats`, if there is one.
    public let ingestCounters: (@Sendable () -> IngestCounters)?
    /// Rules, alarms, commands and the safety layer; nil: the automation routes are not served.
    public let automation: AutomationService?
    /// The time in milliseconds since the epoch (receive time of writes, default query ranges).
    public let now: @Sendable () -> Int64
    /// The node's event channels, streamed to the dashboard by `GET /api/v1/events`; nil: 404.
    public let events: NodeEvents?
    /// Device online status and attributes for `GET /api/v1/fleet` and `/devices/{id}/state`.
    public let deviceStates: (any DeviceStateStore)?
    /// The fleet overview's anomaly levels (from detection); nil: `null`.
    public let fleetAnomalies: (any FleetAnomalyProvider)?
    /// The fleet overview's alarms and autonomy states (from automation); nil: zero and `null`.
    public let fleetAutomation: (any FleetAutomationProvider)?
    /// How often the live feed writes a heartbeat comment (15 s).
    public var liveFeedHeartbeat: Duration = .seconds(15)
    /// Live detection, for the detection routes; nil when detection is off.
    public let detection: DetectionService?
    /// The node's series limits, applied to `POST /api/v2/write` as to MQTT telemetry, and
    /// counted in `GET /api/v1/ingest/stats`; nil: no limits.
    public var seriesGate: SeriesGate?
    /// The node's metrics and health checks for `GET /metrics` and `GET /health`; nil: no
    /// `/metrics` (404) and `/health` reports detection's lag only.
    public var observability: NodeObservability?
    let logger: Logger
    let writeCounters = HTTPWriteCounterBox()
    let connectionCounters = HTTPConnectionCounters()
    let liveFeedCounters = LiveFeedCounters()

    /// What the dashboard's live feeds have sent and dropped so far.
    public var liveFeedStatistics: LiveFeedStatistics { liveFeedCounters.value }

    /// What the write route stored and refused so far.
    public var writeStatistics: HTTPWriteCounters { writeCounters.value }

    /// Raw queries without `from` look back this far (7 days).
    static let defaultRawSpan: Int64 = 7 * 86_400_000
    /// Aggregate queries without `from` look back this far (24 hours).
    static let defaultAggregateSpan: Int64 = 86_400_000
    /// `limit` when a list query gives none.
    static let defaultPageSize = 1_000
    /// The source name dead letters of the write route carry.
    static let writeSource = "http:/api/v2/write"

    /// - Parameters:
    ///   - stores: where writes go and reads come from (see ``Stores``).
    ///   - registry: the registered devices and the operator token verifier (see ``Registry``).
    ///   - pipeline: the node's stages whose routes to serve; each one left out turns its routes
    ///     off (default: none, see ``Pipeline``).
    ///   - configuration: see ``HTTPAPIConfiguration``.
    ///   - now: the clock in ms since the epoch (default: the system clock).
    ///   - logger: the API's logger.
    public init(
        stores: Stores,
        registry: Registry,
        pipeline: Pipeline = Pipeline(),
        configuration: HTTPAPIConfiguration = HTTPAPIConfiguration(),
        now: (@Sendable () -> Int64)? = nil,
        logger: Logger
    ) {
        self.samples = stores.samples
        self.queries = stores.queries
        self.deadLetters = stores.deadLetters
        self.deviceStates = stores.deviceStates
        self.devices = registry.devices
        self.tokens = registry.tokens
        self.ingestCounters = pipeline.ingestCounters
        self.events = pipeline.events
        self.detection = pipeline.detection
        self.automation = pipeline.automation
        self.fleetAnomalies = pipeline.fleetAnomalies
        self.fleetAutomation = pipeline.fleetAutomation
        self.configuration = configuration
        self.now = now ?? NodeClock.system.now
        self.logger = logger
    }

    /// The router with every route and middleware; `app.test(.router)` uses it directly.
    public func makeRouter() -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        // Outermost, so that it counts the status the client gets (after JSON errors).
        if let metrics = observability?.metrics { router.add(middleware: HTTPMetricsMiddleware(metrics: metrics)) }
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: DashboardMiddleware())
        let publicPaths: Set<String> = configuration.metricsPublic ? ["/health", "/metrics"] : ["/health"]
        router.add(middleware: TokenAuthMiddleware(verifier: tokens, publicPaths: publicPaths))
        addObservabilityRoutes(to: router)
        addDeviceRoutes(to: router)
        addSeriesRoutes(to: router)
        addOperationsRoutes(to: router)
        addWriteRoutes(to: router)
        addFleetRoutes(to: router)
        addEventRoutes(to: router)
        addDashboardRoutes(to: router)
        addAutomationRoutes(to: router)
        addDetectionRoutes(to: router)
        return router
    }

    /// The application serving ``makeRouter()`` on `listen`; it logs "HTTP API listening" with
    /// the bound address once the socket is open, then calls `onServerRunning`.
    public func makeApplication(
        listen: BrokerConfiguration.Endpoint,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> Application<RouterResponder<APIRequestContext>> {
        let logger = self.logger
        return Application(
            router: makeRouter(),
            server: makeServer(),
            configuration: ApplicationConfiguration(
                address: .hostname(listen.host, port: listen.port),
                serverName: "reflex"
            ),
            onServerRunning: { channel in
                let address = channel.localAddress.flatMap { address in
                    address.ipAddress.map { ip in
                        let port = address.port.map(String.init) ?? "?"
                        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
                    }
                }
                logger.info("HTTP API listening", metadata: ["http.listen": "\(address ?? "\(listen)")"])
                await onServerRunning(channel)
            },
            logger: logger
        )
    }
}
