public import ReflexCore

/// Active alarm counts of one device, by severity (the fleet overview's badges).
public struct AlarmCounts: Sendable, Hashable, Codable {
    public var critical: Int
    public var major: Int
    public var minor: Int
    public var warning: Int

    public init(critical: Int = 0, major: Int = 0, minor: Int = 0, warning: Int = 0) {
        self.critical = critical
        self.major = major
        self.minor = minor
        self.warning = warning
    }

    /// No active alarm.
    public static let zero = AlarmCounts()
}

/// Who is in charge of a device: the rules (`auto`), a person (`manual` override) or the
/// fail-safe defaults (inputs stale, model unhealthy).
public enum AutonomyMode: String, Sendable, Hashable, Codable, CaseIterable {
    case auto
    case manual
    case failSafe = "fail_safe"
}

/// Tells the fleet overview (`GET /api/v1/fleet`) how anomalous each device currently is.
///
/// The detection stage implements it and the node passes it to ``HTTPAPI``; without one the
/// fleet shows `"anomaly": null`. Called once per device per fleet request, so keep it cheap
/// (a read of the latest verdicts, no computation).
///
/// ```swift
/// struct DetectorFleetView: FleetAnomalyProvider {
///     let detectors: DetectorRegistry
///     func anomalyLevel(of device: DeviceID) async -> Double? { await detectors.maxLatestScore(of: device) }
/// }
/// ```
public protocol FleetAnomalyProvider: Sendable {
    /// The device's current anomaly level from 0 (normal) to 1 (certainly anomalous), usually the
    /// highest latest score over its metrics; nil when nothing was scored yet.
    func anomalyLevel(of device: DeviceID) async -> Double?
}

/// Tells the fleet overview about alarms and who is in charge of each device.
///
/// The automation stage implements it and the node passes it to ``HTTPAPI``; without one the
/// fleet shows zero alarms, `"autonomy": null` and `"autonomyEnabled": null`. Called once per
/// device per fleet request, so answer from memory.
public protocol FleetAutomationProvider: Sendable {
    /// Active (not cleared, acknowledged or not) alarms of `device`, by severity.
    func alarmCounts(of device: DeviceID) async -> AlarmCounts
    /// Whether rules, a manual override or the fail-safe defaults govern `device` now.
    func autonomyMode(of device: DeviceID) async -> AutonomyMode
    /// The global autonomy switch (`GET /api/v1/autonomy`'s `enabled`); nil if unknown.
    func autonomyEnabled() async -> Bool?
}
