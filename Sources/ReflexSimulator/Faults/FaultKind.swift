/// The faults the simulator can inject. Physical faults (``bearingWear``, ``overheating``) change
/// the device and end in a failure unless mitigated; sensor faults change one reading and leave
/// the physics alone; ``communicationLoss`` silences the device for a while.
public enum FaultKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case bearingWear = "bearing_wear"
    case overheating = "overheating"
    case sensorDrift = "sensor_drift"
    case stuckSensor = "stuck_sensor"
    case spikes = "spikes"
    case communicationLoss = "communication_loss"

    public var description: String { rawValue }

    /// Whether the fault acts on the device itself (and can end in a failure).
    public var isPhysical: Bool { self == .bearingWear || self == .overheating }

    /// Whether the fault acts on one metric's readings.
    public var isSensorFault: Bool { self == .sensorDrift || self == .stuckSensor || self == .spikes }

    /// How long a non-physical fault lasts (simulated time) before it clears by itself, seconds.
    public var defaultDuration: Double? {
        switch self {
        case .bearingWear, .overheating: nil
        case .sensorDrift, .stuckSensor, .spikes: 600
        case .communicationLoss: 180
        }
    }
}
