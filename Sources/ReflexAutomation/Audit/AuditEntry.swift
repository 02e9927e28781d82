public import ReflexCore

/// The kinds of decision the audit log records.
public enum AuditDecision: String, Sendable, Hashable, Codable, CaseIterable {
    case fired
    case wouldFire = "would_fire"
    case suppressedCooldown = "suppressed_cooldown"
    case suppressedInterlock = "suppressed_interlock"
    case suppressedOverride = "suppressed_override"
    case suppressedCap = "suppressed_cap"
    case suppressedAutonomyOff = "suppressed_autonomy_off"
    case approvalRequested = "approval_requested"
    case approved
    case rejected
    case commandOutcome = "command_outcome"
    case alarmRaised = "alarm_raised"
    case alarmCleared = "alarm_cleared"
    case failSafe = "fail_safe"
    case operatorAction = "operator_action"
}

/// An interlock as checked for a decision: did it hold, and on which values.
public struct InterlockCheck: Sendable, Hashable, Codable {
    public var expression: String
    public var held: Bool
    /// "pressure = 9.8"
    public var detail: String

    public init(expression: String, held: Bool, detail: String) {
        self.expression = expression
        self.held = held
        self.detail = detail
    }
}

/// One decision, with everything needed to answer "why did Reflex do this?".
public struct AuditEntry: Sendable, Hashable, Codable, Identifiable {
    /// Assigned in order by the engine (and kept by the store).
    public var id: Int64
    public var at: Int64
    public var device: DeviceID?
    public var rule: String?
    public var ruleVersion: Int?
    public var decision: AuditDecision
    /// A sentence for a person.
    public var summary: String
    /// The inputs and scores the decision read: "temperature" → 91.2, "anomaly(vibration)" → 0.95.
    public var inputs: [String: Double]
    public var interlocks: [InterlockCheck]
    /// The action concerned (command name and params, alarm type), if any.
    public var action: JSONValue?
    public var outcome: String?
    /// `rule`, `operator:NAME` or `system`.
    public var actor: String

    public init(
        id: Int64 = 0,
        at: Int64,
        device: DeviceID?,
        rule: String? = nil,
        ruleVersion: Int? = nil,
        decision: AuditDecision,
        summary: String,
        inputs: [String: Double] = [:],
        interlocks: [InterlockCheck] = [],
        action: JSONValue? = nil,
        outcome: String? = nil,
        actor: String
    ) {
        self.id = id
        self.at = at
        self.device = device
        self.rule = rule
        self.ruleVersion = ruleVersion
        self.decision = decision
        self.summary = summary
        self.inputs = inputs
        self.interlocks = interlocks
        self.action = action
        self.outcome = outcome
        self.actor = actor
    }
}
