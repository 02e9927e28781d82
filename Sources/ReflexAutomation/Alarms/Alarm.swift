public import ReflexCore

/// An alarm's place in its lifecycle: active (unacknowledged) → acknowledged → cleared.
public enum AlarmState: String, Sendable, Hashable, Codable {
    case active, acknowledged, cleared
}

/// A note an operator attached to an alarm.
public struct AlarmNote: Sendable, Hashable, Codable {
    public var at: Int64
    public var by: String
    public var text: String

    public init(at: Int64, by: String, text: String) {
        self.at = at
        self.by = by
        self.text = text
    }
}

/// One step of an alarm's history.
public struct AlarmHistoryEntry: Sendable, Hashable, Codable {
    public var at: Int64
    /// The state after the step, or an event name (`shelved`, `unshelved`, `note`, `flapping`).
    public var state: String
    public var by: String?
    public var detail: String?

    public init(at: Int64, state: String, by: String?, detail: String?) {
        self.at = at
        self.state = state
        self.by = by
        self.detail = detail
    }
}

/// One alarm episode of one type on one device. At most one is open (not cleared) per
/// (device, type): a new trigger while it is open is the same episode.
public struct Alarm: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var device: DeviceID
    public var type: String
    public var severity: AlarmSeverity
    public var state: AlarmState
    public var shelvedUntil: Int64?
    public var raisedAt: Int64
    public var acknowledgedAt: Int64?
    public var acknowledgedBy: String?
    public var clearedAt: Int64?
    /// The rule that raised it, or nil for fail-safe or system alarms.
    public var rule: String?
    public var message: String
    /// More than the flapping threshold of raise/clear cycles in the flapping window.
    public var flapping: Bool
    public var notes: [AlarmNote]
    public var history: [AlarmHistoryEntry]

    /// Not cleared.
    public var isOpen: Bool { state != .cleared }

    /// Whether it is shelved at `now`.
    public func isShelved(at now: Int64) -> Bool { shelvedUntil.map { $0 > now } ?? false }
}
