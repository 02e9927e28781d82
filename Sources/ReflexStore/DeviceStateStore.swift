public import ReflexCore

/// What Reflex last heard about a device besides telemetry: its reported attributes
/// (`devices/{id}/state`: firmware, setpoints, mode) and whether it is online.
public struct DeviceState: Sendable, Hashable, Codable {
    public var device: DeviceID
    /// The last attributes as a JSON object text, or nil if none were reported.
    public var attributes: String?
    /// When they were reported (ms since the epoch).
    public var attributesAt: Int64?
    /// "online" or "offline", or nil if never seen.
    public var status: String?
    public var statusAt: Int64?
    /// Why the status changed: "connected", "disconnected", "will", "reported"...
    public var statusReason: String?

    public init(
        device: DeviceID,
        attributes: String?,
        attributesAt: Int64?,
        status: String?,
        statusAt: Int64?,
        statusReason: String?
    ) {
        self.device = device
        self.attributes = attributes
        self.attributesAt = attributesAt
        self.status = status
        self.statusAt = statusAt
        self.statusReason = statusReason
    }
}

/// Records device attributes and online/offline status with timestamps.
public protocol DeviceStateStore: Sendable {
    /// Replaces the device's attributes (a JSON object text).
    func recordAttributes(device: DeviceID, json: String, at timestamp: Int64) async throws
    /// Records an online/offline change and its reason.
    func recordStatus(device: DeviceID, online: Bool, at timestamp: Int64, reason: String) async throws
    /// The device's state, or nil if nothing was ever recorded.
    func deviceState(_ device: DeviceID) async throws -> DeviceState?
}
