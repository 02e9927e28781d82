public import ReflexNode
public import ReflexStore

// What an ``HTTPAPI`` is built from, in three groups (its initialiser takes these, not the parts
// one by one). The API keeps each part as its own property, which is what the routes read.

extension HTTPAPI {
    /// The stores the API writes to and reads from.
    public struct Stores: Sendable {
        /// Where `POST /api/v2/write` appends (awaiting the commit). In a node this store also
        /// publishes what it committed, so HTTP writes reach the pipeline as MQTT ones do.
        public var samples: any SampleStore
        /// Where the `/api/v1` reads come from.
        public var queries: any SampleQuerying
        /// Where a rejected write is kept with its reason, and read back from.
        public var deadLetters: any DeadLetterStore
        /// Device online status and attributes for `GET /api/v1/fleet` and
        /// `/devices/{id}/state`; nil: none known.
        public var deviceStates: (any DeviceStateStore)?

        public init(
            samples: any SampleStore,
            queries: any SampleQuerying,
            deadLetters: any DeadLetterStore,
            deviceStates: (any DeviceStateStore)? = nil
        ) {
            self.samples = samples
            self.queries = queries
            self.deadLetters = deadLetters
            self.deviceStates = deviceStates
        }
    }

    /// The registry, as the API sees it: the devices it lists and the operator tokens it checks
    /// (in a node, both are the one device registry).
    public struct Registry: Sendable {
        /// The registered devices.
        public var devices: any DeviceDirectory
        /// Checks the operator token of every request but the public paths.
        public var tokens: any OperatorTokenVerifier

        public init(devices: any DeviceDirectory, tokens: any OperatorTokenVerifier) {
            self.devices = devices
            self.tokens = tokens
        }
    }

    /// The node's stages that the API reports on, streams from and acts through. Each part is
    /// optional: a missing one turns its routes off (404) or leaves its fields out, as its
    /// property says.
    public struct Pipeline: Sendable {
        /// The MQTT ingestor's counters for `GET /api/v1/ingest/stats`.
        public var ingestCounters: (@Sendable () -> IngestCounters)?
        /// The event bus, streamed to the dashboard by `GET /api/v1/events`.
        public var events: NodeEvents?
        /// Live detection, for the detection routes.
        public var detection: DetectionService?
        /// Rules, alarms, commands and the safety layer, for the automation routes.
        public var automation: AutomationService?
        /// The fleet overview's anomaly levels (in a node, from detection).
        public var fleetAnomalies: (any FleetAnomalyProvider)?
        /// The fleet overview's alarms and autonomy states (in a node, from automation).
        public var fleetAutomation: (any FleetAutomationProvider)?

        public init(
            ingestCounters: (@Sendable () -> IngestCounters)? = nil,
            events: NodeEvents? = nil,
            detection: DetectionService? = nil,
            automation: AutomationService? = nil,
            fleetAnomalies: (any FleetAnomalyProvider)? = nil,
            fleetAutomation: (any FleetAutomationProvider)? = nil
        ) {
            self.ingestCounters = ingestCounters
            self.events = events
            self.detection = detection
            self.automation = automation
            self.fleetAnomalies = fleetAnomalies
            self.fleetAutomation = fleetAutomation
        }
    }
}
