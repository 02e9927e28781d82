public import ReflexCore

/// The automation engine: a deterministic state machine from events (telemetry, analytics,
/// device status, command acks, ticks, operator actions) to actions (publish a command, alarm
/// and command changes, audit entries, webhooks).
///
/// Every call takes the time explicitly (`at now`, ms since the Unix epoch): no clock, no I/O,
/// so tests drive it with a mock clock. The owner (``ReflexServer``'s `AutomationService`, or a
/// test) serializes calls, executes the returned actions and reports publishes back.
///
/// Telemetry only evaluates the rules whose scope contains the device and whose inputs the batch
/// touches (an index from metric to rules), so a decision costs O(rules touched × expression size).
public struct AutomationEngine: Sendable {
    public internal(set) var alarms = AlarmBook()
    public internal(set) var commands = CommandBook()
    public internal(set) var overrides: [DeviceID: Override] = [:]
    public internal(set) var autonomy = AutonomySwitch()
    public internal(set) var failSafePolicies: [String: FailSafePolicy] = [:]
    public internal(set) var rules: [RuleID: RuleRecord] = [:]
    var devices: [DeviceID: DeviceState] = [:]
    var ruleStates: [PairKey: RuleDeviceState] = [:]
    /// Pairs to re-evaluate on ticks: a `for` is running, or an episode is active.
    var pending: Set<PairKey> = []
    /// Rules by the metric they read.
    var rulesByMetric: [String: Set<RuleID>] = [:]
    /// The rules that read `anomaly(metric)`, by metric: the only ones a score re-evaluates.
    var rulesByAnomaly: [String: Set<RuleID>] = [:]
    /// Rules that read `online`.
    var statusRules: Set<RuleID> = []
    /// The longest window any rule needs per metric.
    var windowSpans: [String: Int64] = [:]
    /// Metrics seen per device type (the "known metrics" of validation).
    public internal(set) var knownMetrics: [String: Set<String>] = [:]
    var nextAuditID: Int64 = 1
    var verifyCache: [String: Expression] = [:]
    /// Fail-safe policies from the configuration (rule files may add more).
    var configuredFailSafes: [String: FailSafePolicy] = [:]
    /// Rule versions and texts from storage, so that versions keep counting across restarts.
    var restoredVersions: [RuleID: Int] = [:]
    var restoredTexts: [RuleID: String] = [:]

    struct PairKey: Hashable, Sendable {
        var rule: RuleID
        var device: DeviceID
    }

    struct RuleDeviceState: Sendable {
        var active = false
        var trueSince: [Int: Int64] = [:]
        var lastActionAt: Int64?
        var actionTimes: [Int64] = []
    }

    /// - Parameters:
    ///   - failSafes: the configured safe state per device type.
    ///   - ackTimeout: how long to wait for a device's ack before resending (doubles per attempt).
    ///   - maxAttempts: sends before a command fails.
    public init(failSafes: [FailSafePolicy] = [], ackTimeout: Int64 = 10_000, maxAttempts: Int = 3) {
        for policy in failSafes { configuredFailSafes[policy.deviceType] = policy }
        failSafePolicies = configuredFailSafes
        commands.ackTimeout = ackTimeout
        commands.maxAttempts = maxAttempts
    }

    // MARK: - Restore

    /// Restores persisted state (at startup, before any event).
    public mutating func restore(
        alarms: [Alarm],
        commands: [Command],
        overrides: [Override],
        autonomy: AutonomySwitch?,
        nextAuditID: Int64
    ) {
        for alarm in alarms { self.alarms.restore(alarm) }
        for command in commands { self.commands.restore(command) }
        for o in overrides { self.overrides[o.device] = o }
        if let autonomy { self.autonomy = autonomy }
        self.nextAuditID = max(self.nextAuditID, nextAuditID)
    }

    /// Tells the engine the devices' types and labels (call again when the registry changes).
    public mutating func setDevices(_ infos: [DeviceInfo]) {
        for info in infos { devices[info.id, default: DeviceState()].info = info }
    }

    /// Metrics known to exist for a device type (e.g. from the store's series at startup).
    public mutating func learnMetrics(_ metrics: some Sequence<String>, type: String) {
        knownMetrics[type, default: []].formUnion(metrics.filter { !$0.contains(":") })
    }

    /// The device's fail-safe state and override, for the API.
    public func failSafeState(of device: DeviceID) -> FailSafeState {
        devices[device]?.failSafe ?? FailSafeState()
    }

    /// Whether the device is known online (nil: never heard).
    public func isOnline(_ device: DeviceID) -> Bool? { devices[device]?.online }

    // MARK: - Events

    /// Feeds one event; returns the actions to execute, in order.
    public mutating func handle(_ event: AutomationEvent, at now: Int64) -> [AutomationAction] {
        var out: [AutomationAction] = []
        switch event {
        case .telemetry(let batch): onTelemetry(batch, at: now, into: &out)
        case .analytics(.anomaly(let event)):
            let metric = event.series.metric.rawValue
            devices[event.series.device, default: DeviceState()].anomaly[metric] = event.score
            devices[event.series.device]?.noteReading(metric, value: event.value, at: event.timestamp)
            // Only rules that read the score: the other inputs of this reading (the rest of its
            // batch, e.g. the pressure an interlock needs) arrive with the committed telemetry,
            // which may come after the score; a threshold rule waits for that batch.
            evaluate(device: event.series.device, rules: rulesByAnomaly[metric] ?? [], at: now, into: &out)
        case .analytics(.dataQuality(let event)): onDataQuality(event, at: now, into: &out)
        case .deviceStatus(let device, let online): onStatus(device, online: online, at: now, into: &out)
        case .commandAck(let device, _, let ack): onAck(device, ack, at: now, into: &out)
        case .commandPublished(let id, let subscribers):
            if let command = commands.markPublished(id: id, subscribers: subscribers, at: now) {
                out.append(.command(command))
            }
        case .tick: onTick(at: now, into: &out)
        }
        return out
    }

    mutating func onTelemetry(_ batch: TelemetryBatch, at now: Int64, into out: inout [AutomationAction]) {
        var state = devices[batch.device] ?? DeviceState()
        state.observe(batch, at: now, windowSpans: windowSpans)
        if let type = state.info?.type {
            for sample in batch.samples
            where knownMetrics[type]?.contains(sample.metric.rawValue) != true && !sample.metric.rawValue.contains(":")
            {
                knownMetrics[type, default: []].insert(sample.metric.rawValue)
            }
        }
        let wasStale = state.failSafe.active && state.failSafe.reason?.hasPrefix("stale") == true
        devices[batch.device] = state
        if wasStale { releaseFailSafe(batch.device, because: "telemetry resumed", at: now, into: &out) }
        var metrics: Set<String> = []
        for sample in batch.samples { metrics.insert(sample.metric.rawValue) }
        evaluate(device: batch.device, metrics: metrics, at: now, into: &out)
        checkVerifications(device: batch.device, at: now, into: &out)
    }

    mutating func onStatus(_ device: DeviceID, online: Bool, at now: Int64, into out: inout [AutomationAction]) {
        let previous = devices[device]?.online
        devices[device, default: DeviceState()].online = online
        guard previous != online else { return }
        if online {
            if devices[device]?.failSafe.reason?.hasPrefix("offline") == true {
                releaseFailSafe(device, because: "device online again", at: now, into: &out)
            }
            dispatch(device: device, at: now, into: &out)
        } else if let policy = policy(for: device), policy.onOffline {
            applyFailSafe(device, policy: policy, reason: "offline: the device disconnected", at: now, into: &out)
        }
        for id in statusRules { evaluate(rule: id, device: device, at: now, into: &out) }
    }

    mutating func onDataQuality(_ event: DataQualityEvent, at now: Int64, into out: inout [AutomationAction]) {
        let device = event.series.device
        let metric = event.series.metric.rawValue
        var state = devices[device] ?? DeviceState()
        if event.isActive {
            state.quality[metric, default: []].insert(event.kind)
        } else {
            state.quality[metric]?.remove(event.kind)
            if state.quality[metric]?.isEmpty == true { state.quality[metric] = nil }
        }
        devices[device] = state
        let isHealthEvent = event.kind.makesValuesSuspect
        if event.isActive, isHealthEvent, let policy = policy(for: device), policy.onUnhealthy, !state.failSafe.active {
            applyFailSafe(
                device,
                policy: policy,
                reason: "unhealthy: \(event.kind.rawValue) on \(metric) (\(event.detail))",
                at: now,
                into: &out
            )
        } else if !event.isActive, isHealthEvent, !state.hasSuspectValues,
            state.failSafe.reason?.hasPrefix("unhealthy") == true
        {
            releaseFailSafe(device, because: "data quality recovered", at: now, into: &out)
        }
        evaluate(device: device, metrics: [metric], at: now, into: &out)
    }

    mutating func onTick(at now: Int64, into out: inout [AutomationAction]) {
        for alarm in alarms.expireShelving(at: now) { out.append(.alarm(alarm)) }
        for (device, o) in overrides where !o.isActive(at: now) {
            overrides[device] = nil
            out.append(.override(device, nil))
            audit(
                AuditEntry(
                    at: now,
                    device: device,
                    decision: .operatorAction,
                    summary: "Override of \(device) by \(o.by) expired; autonomy resumes",
                    actor: "system"
                ),
                into: &out
            )
        }
        for key in pending.sorted(by: { ($0.rule, $0.device.rawValue) < ($1.rule, $1.device.rawValue) }) {
            evaluate(rule: key.rule, device: key.device, at: now, into: &out)
        }
        checkStaleness(at: now, into: &out)
        for command in commands.tick(at: now) {
            out.append(.command(command))
            outcomeAudit(command, at: now, into: &out)
        }
        for device in commands.devicesWithReadyCommands(at: now).sorted() {
            dispatch(device: device, at: now, into: &out)
        }
    }

    // MARK: - Audit

    mutating func audit(_ entry: AuditEntry, into out: inout [AutomationAction]) {
        var entry = entry
        entry.id = nextAuditID
        nextAuditID += 1
        out.append(.audit(entry))
    }
}

extension AutomationEngine {
    /// The type and labels of a device, if known.
    public func deviceInfo(_ device: DeviceID) -> DeviceInfo? { devices[device]?.info }

    /// Records an audit entry made outside the engine (a failed webhook); returns its action.
    public mutating func recordAudit(_ entry: AuditEntry) -> [AutomationAction] {
        var out: [AutomationAction] = []
        audit(entry, into: &out)
        return out
    }
}
