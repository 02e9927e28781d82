import CoreMetrics
public import Prometheus
public import ReflexMQTT
public import ReflexNode
public import ReflexStore
import Synchronization

/// A node's metrics: one `PrometheusCollectorRegistry`, rendered by `GET /metrics` in the
/// Prometheus text format (see `docs/metrics.md` for every family).
///
/// Two ways in, whichever is exact:
/// - counted at the source: the broker's swift-metrics counters (through ``factory``), the commit
///   latency and store refusals (``InstrumentedSampleStore``), HTTP requests
///   (``HTTPMetricsMiddleware``);
/// - read at scrape time from the counters a component already keeps (``MetricSources``: the
///   store's ``IngestStatistics``, the ingestor's, detection's and automation's counters, HTTP
///   connections, the process). A counter read this way advances by the source's growth since
///   the last scrape, so it never goes down.
///
/// Each node owns its registry, so two nodes in one process (tests) do not share numbers.
/// `reflex serve` also bootstraps swift-metrics' `MetricsSystem` with ``factory``, so libraries
/// that report through the global system land in the same registry; that happens once per
/// process, and a second node in the same process keeps its own registry for its own figures.
public final class NodeMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory over ``registry``, with the catalog's help texts.
    public let factory: CatalogMetricsFactory
    let commitLatency: DurationHistogram
    private let sources = Mutex(MetricSources())
    private let mirrored = Mutex<[String: (counter: Prometheus.Counter, last: Int64)]>([:])

    /// - Parameter registry: the registry to fill (default: a new one).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        factory = CatalogMetricsFactory(registry: registry)
        commitLatency = registry.makeDurationHistogram(
            descriptor: factory.descriptor("reflex_store_commit_latency_seconds"),
            labels: [],
            buckets: CatalogMetricsFactory.commitLatencyBuckets
        )
        // Families that exist before their first event, so a scrape shows 0 rather than nothing.
        for reason in MetricCatalog.refusalReasons {
            _ = refusedMessages(reason)
            _ = refusedSamples(reason)
        }
    }

    /// Makes ``factory`` the process-wide swift-metrics backend (`reflex serve` does, once per
    /// process: swift-metrics allows one bootstrap).
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(factory)
    }

    /// Sets the components read at scrape time (the node calls this once it has built them).
    public func attach(_ sources: MetricSources) {
        self.sources.withLock { $0 = sources }
    }

    /// The components read at scrape time.
    public var attached: MetricSources { sources.withLock { $0 } }

    /// Reads every source, then renders the registry in the Prometheus text format (0.0.4).
    /// - Parameter http: the HTTP server's connection counters, from the API serving the scrape.
    public func render(http: HTTPConnectionStatistics? = nil) -> String {
        collect(http: http)
        return registry.emitToString()
    }

    // MARK: - Families

    func counter(_ name: String, _ labels: [(String, String)] = []) -> Prometheus.Counter {
        registry.makeCounter(descriptor: factory.descriptor(name), labels: labels)
    }

    func gauge(_ name: String, _ labels: [(String, String)] = []) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: factory.descriptor(name), labels: labels)
    }

    func refusedMessages(_ reason: String) -> Prometheus.Counter {
        counter("reflex_ingest_refused_messages_total", [("reason", reason)])
    }

    func refusedSamples(_ reason: String) -> Prometheus.Counter {
        counter("reflex_ingest_refused_samples_total", [("reason", reason)])
    }

    /// Advances a counter by how much `total` (a source's monotonic count) grew since the last
    /// scrape; a source that restarted from zero does not move it back.
    func mirror(_ name: String, _ labels: [(String, String)] = [], total: Int64) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let created = counter(name, labels)
        mirrored.withLock { table in
            let entry = table[key] ?? (created, 0)
            if total > entry.last { entry.counter.increment(by: total - entry.last) }
            table[key] = (entry.counter, max(entry.last, total))
        }
    }
}

/// What a node's metrics read at scrape time; nil parts are not reported.
public struct MetricSources: Sendable {
    /// The sample store's counters.
    public var store: (@Sendable () -> IngestStatistics)?
    /// The MQTT ingestor's counters.
    public var ingest: (@Sendable () -> IngestCounters)?
    /// The series limits (refusals of MQTT and HTTP writes).
    public var seriesGate: SeriesGate?
    /// Live detection, if it is on.
    public var detection: DetectionService?
    /// Automation.
    public var automation: AutomationService?
    /// The embedded broker.
    public var broker: MQTTBroker?

    /// - Parameters: the parts of a node; each defaults to nil.
    public init(
        store: (@Sendable () -> IngestStatistics)? = nil,
        ingest: (@Sendable () -> IngestCounters)? = nil,
        seriesGate: SeriesGate? = nil,
        detection: DetectionService? = nil,
        automation: AutomationService? = nil,
        broker: MQTTBroker? = nil
    ) {
        self.store = store
        self.ingest = ingest
        self.seriesGate = seriesGate
        self.detection = detection
        self.automation = automation
        self.broker = broker
    }
}
