public import ReflexCore

/// The name of a rule, as written after `rule:`; letters, digits, `-`, `_` and `.`.
public struct RuleID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// Nil unless `text` is 1–64 characters of letters, digits, `-`, `_` and `.`.
    public init?(validating text: String) {
        guard !text.isEmpty, text.count <= 64,
            text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
        else { return nil }
        rawValue = text
    }

    public var description: String { rawValue }
    public static func < (a: RuleID, b: RuleID) -> Bool { a.rawValue < b.rawValue }
}

/// Which devices a rule watches: every given constraint must hold.
public struct RuleScope: Sendable, Hashable {
    /// Only these devices, if given.
    public var devices: Set<DeviceID>?
    /// Only devices of this type, if given.
    public var type: String?
    /// Only devices with all these labels.
    public var labels: [String: String]

    public init(devices: Set<DeviceID>? = nil, type: String? = nil, labels: [String: String] = [:]) {
        self.devices = devices
        self.type = type
        self.labels = labels
    }

    /// Whether a device with this id, type and labels is in scope.
    public func contains(_ device: DeviceID, type deviceType: String?, labels deviceLabels: [String: String]) -> Bool {
        if let devices, !devices.contains(device) { return false }
        if let type, type != deviceType { return false }
        for (key, value) in labels where deviceLabels[key] != value { return false }
        return true
    }
}

/// A condition kept with its source text, for the audit log and error messages.
public struct Condition: Sendable, Hashable {
    public var text: String
    public var expression: Expression

    public init(text: String, expression: Expression) {
        self.text = text
        self.expression = expression
    }
}

/// A command parameter: a constant, or a formula over the device's inputs (which must have bounds).
public enum CommandParameter: Sendable, Hashable {
    case constant(JSONValue)
    case computed(Condition)
}

/// `alarm: { type: overheat, severity: major, message: "bearing at {temperature} °C" }`
public struct AlarmAction: Sendable, Hashable {
    public var type: String
    public var severity: AlarmSeverity
    /// A template: `{metric}` is replaced by the metric's latest value.
    public var message: String?
}

/// `command: { name: set_speed, params: {...}, bounds: {...}, ttl: 5m, verify: {...} }`
public struct CommandAction: Sendable, Hashable {
    public var name: String
    public var params: [String: CommandParameter]
    /// Inclusive bounds per parameter; a computed value outside is clamped (and audited).
    public var bounds: [String: ClosedRange<Double>]
    /// Time to live; default 5 minutes.
    public var ttl: Int64
    /// An optional post-condition that must hold within a time limit after the device's ack.
    public var verify: Verification?
    /// The metrics this command changes (parameter names, `set_<metric>`, and `affects:`), for
    /// cycle detection.
    public var affects: Set<String>
}

/// `verify: { when: "speed < 2200", within: 60s }`
public struct Verification: Sendable, Hashable {
    public var condition: Condition
    public var within: Int64

    public init(condition: Condition, within: Int64) {
        self.condition = condition
        self.within = within
    }
}

/// `webhook: { url: "https://...", }` — POSTed as JSON with the rule, device and inputs.
public struct WebhookAction: Sendable, Hashable {
    public var url: String
}

/// `desired: { mode: eco, setpoint: 42 }` — the device's desired state, published retained on
/// `devices/{id}/desired` so that the device (and any later subscriber) sees the latest.
public struct DesiredStateAction: Sendable, Hashable {
    public var values: [String: JSONValue]
}

/// What a rule does when it fires.
public enum RuleAction: Sendable, Hashable {
    case alarm(AlarmAction)
    case command(CommandAction)
    case webhook(WebhookAction)
    case desired(DesiredStateAction)
}

/// A validated rule, ready for the engine. See `docs/automation.md` for the syntax.
public struct Rule: Sendable, Hashable {
    public var id: RuleID
    /// Incremented on every change of the text.
    public var version: Int
    /// `file:rules/pumps.yaml` or `api`.
    public var source: String
    /// The rule's YAML text.
    public var text: String
    public var scope: RuleScope
    public var when: Condition
    /// When the episode ends; default: `when` is false.
    public var clear: Condition?
    public var actions: [RuleAction]
    public var interlocks: [Condition]
    /// Minimum time between two actuations (commands, webhooks) of this rule on one device.
    public var cooldown: Int64
    /// At most this many actuations of this rule per device per hour; nil: no cap.
    public var maxActionsPerHour: Int?
    /// Commands wait in `pending_approval` until an operator approves.
    public var approval: Bool
    /// Evaluate and audit "would have acted", but do nothing.
    public var dryRun: Bool
    public var enabled: Bool
    /// Reasons that do not stop the rule but that a person should know (a damped cycle).
    public var warnings: [String]
    /// How many `for` slots the rule's expressions use.
    public var slotCount: Int

    /// Every metric the rule's condition, clear condition and interlocks read.
    public var inputMetrics: Set<String> {
        var out = when.expression.metrics
        if let clear { out.formUnion(clear.expression.metrics) }
        for interlock in interlocks { out.formUnion(interlock.expression.metrics) }
        return out
    }

    /// Every metric whose anomaly score (`anomaly(metric)`) the rule's conditions and
    /// interlocks read.
    public var anomalyInputs: Set<String> {
        var out = when.expression.anomalyMetrics
        if let clear { out.formUnion(clear.expression.anomalyMetrics) }
        for interlock in interlocks { out.formUnion(interlock.expression.anomalyMetrics) }
        return out
    }

    /// The commands of the rule.
    public var commands: [CommandAction] {
        actions.compactMap { if case .command(let c) = $0 { c } else { nil } }
    }
}

/// The safe state of a device type: `failsafe: pump` with `command: { name: set_speed, params: { rpm: 900 } }`.
public struct FailSafePolicy: Sendable, Hashable {
    public var deviceType: String
    public var command: String
    public var params: [String: JSONValue]
    /// Inputs are stale after this many times the learned reporting cadence (default 3).
    public var staleFactor: Double
    /// Never stale before this long without telemetry (default 30 s).
    public var minimumStale: Int64
    /// Apply when the device goes offline (default true).
    public var onOffline: Bool
    /// Apply when a detector reports a data-quality problem (default true).
    public var onUnhealthy: Bool
    public var source: String

    public init(
        deviceType: String,
        command: String,
        params: [String: JSONValue] = [:],
        staleFactor: Double = 3,
        minimumStale: Int64 = 30_000,
        onOffline: Bool = true,
        onUnhealthy: Bool = true,
        source: String = "config"
    ) {
        self.deviceType = deviceType
        self.command = command
        self.params = params
        self.staleFactor = staleFactor
        self.minimumStale = minimumStale
        self.onOffline = onOffline
        self.onUnhealthy = onUnhealthy
        self.source = source
    }
}
