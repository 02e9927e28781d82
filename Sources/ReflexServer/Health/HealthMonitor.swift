public import ReflexMQTT
public import ReflexNode
public import ReflexStore

/// Reads a node's parts into ``HealthInputs`` and judges them with ``HealthRules``; what
/// `GET /health` serves. Cheap: a few locked reads, no I/O.
public struct HealthMonitor: Sendable {
    /// The sample store's counters.
    public var store: (@Sendable () -> IngestStatistics)?
    /// The embedded broker and its connection limit.
    public var broker: MQTTBroker?
    /// Live detection, if on.
    public var detection: DetectionService?
    /// Automation.
    public var automation: AutomationService?
    /// The node's wall clock (ms since the epoch).
    public let now: @Sendable () -> Int64
    /// When the node started.
    public let startedAt: Int64

    /// - Parameters: see the properties.
    public init(
        store: (@Sendable () -> IngestStatistics)? = nil,
        broker: MQTTBroker? = nil,
        detection: DetectionService? = nil,
        automation: AutomationService? = nil,
        now: @escaping @Sendable () -> Int64
    ) {
        self.store = store
        self.broker = broker
        self.detection = detection
        self.automation = automation
        self.now = now
        startedAt = now()
    }

    /// The values the rules judge, read now.
    public func inputs() -> HealthInputs {
        HealthInputs(
            now: now(),
            startedAt: startedAt,
            store: store?(),
            broker: broker.map {
                .init(
                    isListening: $0.isListening,
                    connected: $0.connectedClientCount,
                    maxConnections: $0.configuration.maxConnections
                )
            },
            detection: detection.map { detection in
                let lag = detection.lag
                return .init(
                    runner: .init(lastBeat: detection.heartbeat.lastBeat, interval: detection.heartbeat.interval),
                    lagProblem: detection.degradation,
                    batchesBehind: lag.batchesBehind,
                    secondsBehind: lag.secondsBehind
                )
            },
            automation: automation.map { .init(lastBeat: $0.heartbeat.lastBeat, interval: $0.heartbeat.interval) }
        )
    }

    /// The report now.
    public func report() -> HealthReport { HealthRules.evaluate(inputs()) }
}
