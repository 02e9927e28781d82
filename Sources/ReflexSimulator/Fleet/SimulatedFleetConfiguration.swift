public import Foundation
public import ReflexMQTT

/// What a ``SimulatedFleet`` simulates and where it connects.
///
/// Defaults: seed 1, broker 127.0.0.1:1883, anonymous, telemetry every second, real time
/// (time scale 1), no faults, MQTT 5.0.
public struct SimulatedFleetConfiguration: Sendable {
    /// The devices (see ``FleetPlan/devices(count:)``).
    public var devices: [PlannedDevice]
    /// Seeds noise, sensor-fault metrics and anything else random.
    public var seed: UInt64 = 1
    /// The MQTT broker.
    public var brokerHost: String = "127.0.0.1"
    public var brokerPort: Int = 1883
    /// Device id → token. A device with a token connects with its id as user name and the token
    /// as password; one without connects anonymously.
    public var credentials: [String: String] = [:]
    /// Wall time between two telemetry messages of a device.
    public var telemetryInterval: Duration = .seconds(1)
    /// Simulated seconds per wall second (10 runs the physics ten times faster than real time).
    /// Telemetry timestamps stay wall-clock.
    public var timeScale: Double = 1
    /// Faults to inject, at simulated offsets from the start (see ``FaultSchedule``).
    public var schedule: [ScheduledFault] = []
    /// The MQTT protocol version the devices speak.
    public var mqttVersion: ProtocolVersion = .v5
    /// Simulated seconds since 1970 at the start (the time of day of the daily cycle); nil: the
    /// wall clock at the start.
    public var startTime: Double?

    public init(devices: [PlannedDevice]) {
        self.devices = devices
    }
}

/// Counters of a running fleet.
public struct FleetStatistics: Sendable, Hashable {
    /// Telemetry messages acknowledged by the broker.
    public var telemetryPublished = 0
    /// Telemetry messages that could not be published (not connected, refused).
    public var telemetryFailed = 0
    /// Commands received.
    public var commandsReceived = 0
    /// Commands rejected (unknown, out of bounds, expired, malformed, device failed).
    public var commandsRejected = 0
    /// Devices connected right now.
    public var devicesConnected = 0
    /// Simulated seconds since the start.
    public var simulatedSeconds = 0.0
}

/// A fault log record with wall-clock times, for comparing with telemetry timestamps.
public struct FaultLogEntry: Sendable, Hashable {
    /// The record in simulated time.
    public var record: FaultRecord
    /// When the fault started, wall clock.
    public var startedAt: Date
    /// When it failed, was mitigated or ended, wall clock (nil while running).
    public var outcomeAt: Date?
    /// When it was first mitigated, wall clock.
    public var mitigatedAt: Date?
}
