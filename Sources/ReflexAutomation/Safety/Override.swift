public import ReflexCore

/// Hand-Off-Auto for one device: in manual, autonomy (rules and fail-safe) never commands it.
public struct Override: Sendable, Hashable, Codable {
    public var device: DeviceID
    public var reason: String
    public var by: String
    public var since: Int64
    /// When it ends by itself; nil: until released.
    public var until: Int64?

    public init(device: DeviceID, reason: String, by: String, since: Int64, until: Int64?) {
        self.device = device
        self.reason = reason
        self.by = by
        self.since = since
        self.until = until
    }

    /// Whether it is in force at `now`.
    public func isActive(at now: Int64) -> Bool { until.map { now < $0 } ?? true }
}

/// The global autonomy switch: off, no rule or fail-safe command is sent (each attempt audited).
public struct AutonomySwitch: Sendable, Hashable, Codable {
    public var enabled: Bool
    public var changedAt: Int64?
    public var changedBy: String?
    public var reason: String?

    public init(enabled: Bool = true, changedAt: Int64? = nil, changedBy: String? = nil, reason: String? = nil) {
        self.enabled = enabled
        self.changedAt = changedAt
        self.changedBy = changedBy
        self.reason = reason
    }
}

/// A device's fail-safe state: applied (why, since when) or not.
public struct FailSafeState: Sendable, Hashable, Codable {
    public var active: Bool
    public var reason: String?
    public var since: Int64?

    public init(active: Bool = false, reason: String? = nil, since: Int64? = nil) {
        self.active = active
        self.reason = reason
        self.since = since
    }
}
