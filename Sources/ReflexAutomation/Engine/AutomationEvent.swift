public import ReflexCore

/// What goes into the engine.
public enum AutomationEvent: Sendable {
    /// Committed telemetry of one device.
    case telemetry(TelemetryBatch)
    /// An anomaly score or a data-quality change.
    case analytics(AnalyticsEvent)
    /// The device went online or offline.
    case deviceStatus(DeviceID, online: Bool)
    /// The device acknowledged a command on `devices/{id}/commands/{name}/ack`.
    case commandAck(DeviceID, name: String, CommandAck)
    /// A command sent by a `.publish` action was routed to `subscribers` sessions.
    case commandPublished(id: String, subscribers: Int)
    /// Time passed (timeouts, `for` durations, staleness, shelving and override expiry).
    case tick
}

/// What comes out of the engine, in order; the owner executes it (publish, persist, notify).
public enum AutomationAction: Sendable {
    /// Publish the command to `devices/{id}/commands/{name}` now, then report `.commandPublished`.
    case publish(Command)
    /// An alarm changed: persist and notify.
    case alarm(Alarm)
    /// A command changed: persist and notify.
    case command(Command)
    /// A decision: persist and notify.
    case audit(AuditEntry)
    /// Publish `values` retained on `devices/{id}/desired` (a rule's `desired:` action).
    case publishDesired(DeviceID, [String: JSONValue])
    /// POST `body` as JSON to `url`; audit a failure.
    case webhook(url: String, body: JSONValue, rule: String, device: DeviceID)
    /// A device's override changed (nil: released).
    case override(DeviceID, Override?)
    /// The autonomy switch changed.
    case autonomy(AutonomySwitch)
    /// A rule was added, changed, or removed (`removed` true).
    case rule(RuleRecord, removed: Bool)
}

/// A rule as the engine keeps it: the text and status, and the compiled rule if it is valid.
public struct RuleRecord: Sendable {
    public var id: RuleID
    public var version: Int
    public var source: String
    public var text: String
    public var enabled: Bool
    public var dryRun: Bool
    public var errors: [String]
    public var warnings: [String]
    public var lastFiredAt: Int64?
    public var firedCount: Int
    /// Nil when the rule did not validate.
    public var rule: Rule?

    public init(id: RuleID, version: Int, source: String, text: String, rule: Rule?, errors: [String]) {
        self.id = id
        self.version = version
        self.source = source
        self.text = text
        self.rule = rule
        self.errors = errors
        self.enabled = rule?.enabled ?? false
        self.dryRun = rule?.dryRun ?? false
        self.warnings = rule?.warnings ?? []
        self.lastFiredAt = nil
        self.firedCount = 0
    }
}
