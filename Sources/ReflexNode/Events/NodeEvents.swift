public import ReflexCore

/// A device going online or offline, as recorded in the store.
public struct DeviceStatusChange: Sendable, Hashable, Codable {
    public var device: DeviceID
    public var isOnline: Bool
    /// Milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// `connected`, `disconnected`, `connection lost`, `reported`, ...
    public var reason: String

    public init(device: DeviceID, isOnline: Bool, timestamp: Int64, reason: String) {
        self.device = device
        self.isOnline = isOnline
        self.timestamp = timestamp
        self.reason = reason
    }
}

/// The in-process streams that join a node's stages after the store: what was committed, which
/// devices came and went, what the detectors found. Each is a ``Broadcast``: subscribe before
/// the producers start.
public struct NodeEvents: Sendable {
    /// Telemetry batches, published once their samples are durably committed (MQTT and HTTP).
    public let telemetry = Broadcast<CommittedTelemetry>()
    /// Online/offline changes of devices.
    public let deviceStatus = Broadcast<DeviceStatusChange>()
    /// Anomaly scores and data-quality events from the analytics stage.
    public let analytics = Broadcast<AnalyticsEvent>()
    /// Alarm, command and audit changes from the automation layer (the dashboard's live feed).
    public let automation = Broadcast<AutomationNotice>()
    /// The open `/api/v1/events` streams by operator token, ended when their token is revoked.
    public let openStreams = OpenEventStreams()

    public init() {}

    /// Ends every stream (on shutdown, after the producers have stopped).
    public func finish() {
        telemetry.finish()
        deviceStatus.finish()
        analytics.finish()
        automation.finish()
    }
}
