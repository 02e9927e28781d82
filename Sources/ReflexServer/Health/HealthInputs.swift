public import ReflexStore

/// What the health rules judge: plain values read from the node's parts at request time, so the
/// rules (``HealthRules``) are a pure function that tests feed with fakes.
public struct HealthInputs: Sendable, Hashable {
    /// The embedded broker's listener state.
    public struct Broker: Sendable, Hashable {
        /// Whether every configured listener is bound and the broker runs.
        public var isListening: Bool
        /// Clients connected now.
        public var connected: Int
        /// `mqtt.maxConnections`.
        public var maxConnections: Int

        /// - Parameters: see the properties.
        public init(isListening: Bool, connected: Int, maxConnections: Int) {
            self.isListening = isListening
            self.connected = connected
            self.maxConnections = maxConnections
        }
    }

    /// A runner's heartbeat.
    public struct Runner: Sendable, Hashable {
        /// When it last beat (ms since the epoch), nil before its first beat.
        public var lastBeat: Int64?
        /// Its loop interval.
        public var interval: Duration

        /// - Parameters: see the properties.
        public init(lastBeat: Int64?, interval: Duration) {
            self.lastBeat = lastBeat
            self.interval = interval
        }
    }

    /// Live detection: its heartbeat and its lag verdict.
    public struct Detection: Sendable, Hashable {
        /// The periodic loop's heartbeat.
        public var runner: Runner
        /// Why detection is degraded (``ReflexNode/DetectionService/degradation``), or nil.
        public var lagProblem: String?
        /// Batches committed and not scored yet, and how long they have waited.
        public var batchesBehind: Int64
        public var secondsBehind: Double

        /// - Parameters: see the properties.
        public init(runner: Runner, lagProblem: String?, batchesBehind: Int64, secondsBehind: Double) {
            self.runner = runner
            self.lagProblem = lagProblem
            self.batchesBehind = batchesBehind
            self.secondsBehind = secondsBehind
        }
    }

    /// The time of the check, ms since the epoch.
    public var now: Int64
    /// When the node started (the age of "never" before a first commit or beat).
    public var startedAt: Int64
    /// The sample store's counters, if there is a store.
    public var store: IngestStatistics?
    /// The embedded broker, nil when there is none.
    public var broker: Broker?
    /// Detection, nil when it is off.
    public var detection: Detection?
    /// Automation's tick heartbeat.
    public var automation: Runner?

    /// - Parameters: see the properties.
    public init(
        now: Int64,
        startedAt: Int64,
        store: IngestStatistics? = nil,
        broker: Broker? = nil,
        detection: Detection? = nil,
        automation: Runner? = nil
    ) {
        self.now = now
        self.startedAt = startedAt
        self.store = store
        self.broker = broker
        self.detection = detection
        self.automation = automation
    }
}
