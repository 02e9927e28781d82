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

/// The node's event bus: the channels that join its stages after the store (what was committed,
/// which devices came and went, what the detectors found, what automation decided).
///
/// Each is an ``EventChannel``; subscribe before the producers start. In one process they are
/// ``Broadcast``s (the default); a cluster passes channels carried over a stream (issue 16), a test
/// may pass one that records what a stage published.
public struct NodeEvents: Sendable {
    /// Telemetry batches, published once their samples are durably committed (MQTT and HTTP).
    public let telemetry: any EventChannel<CommittedTelemetry>
    /// Online/offline changes of devices.
    public let deviceStatus: any EventChannel<DeviceStatusChange>
    /// Anomaly scores and data-quality events from the analytics stage.
    public let analytics: any EventChannel<AnalyticsEvent>
    /// Alarm, command and audit changes from the automation layer (the dashboard's live feed).
    public let automation: any EventChannel<AutomationNotice>
    /// The open `/api/v1/events` streams by operator token, ended when their token is revoked.
    public let openStreams = OpenEventStreams()

    /// The bus over the given channels; each defaults to a new in-process ``Broadcast``.
    public init(
        telemetry: any EventChannel<CommittedTelemetry> = Broadcast<CommittedTelemetry>(),
        deviceStatus: any EventChannel<DeviceStatusChange> = Broadcast<DeviceStatusChange>(),
        analytics: any EventChannel<AnalyticsEvent> = Broadcast<AnalyticsEvent>(),
        automation: any EventChannel<AutomationNotice> = Broadcast<AutomationNotice>()
    ) {
        self.telemetry = telemetry
        self.deviceStatus = deviceStatus
        self.analytics = analytics
        self.automation = automation
    }

    /// Ends every stream (on shutdown, after the producers have stopped).
    public func finish() {
        telemetry.finish()
        deviceStatus.finish()
        analytics.finish()
        automation.finish()
    }
}
