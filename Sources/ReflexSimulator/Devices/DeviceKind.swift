/// The kinds of simulated device; the raw value is the registry's device type.
public enum DeviceKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case pump
    case chiller

    public var description: String { rawValue }

    /// The metrics a device of this kind publishes (besides `running` and `failed`).
    public var metrics: [String] {
        switch self {
        case .pump: ["flow", "pressure", "vibration", "bearing_temperature", "motor_current", "speed"]
        case .chiller:
            ["supply_temperature", "return_temperature", "compressor_current", "refrigerant_pressure", "power"]
        }
    }

    /// The commands a device of this kind accepts.
    public var commands: [String] {
        switch self {
        case .pump: ["set_speed", "start", "stop"]
        case .chiller: ["set_setpoint", "set_load", "start", "stop"]
        }
    }
}

/// The physical state of a device, by kind.
public enum DevicePhysics: Sendable, Equatable {
    case pump(PumpState)
    case chiller(ChillerState)
}

/// One sample of a device's published readings.
public struct Reading: Sendable, Equatable {
    /// Metric name to measured value (noise and sensor faults applied).
    public var values: [String: Double]
    /// Whether the device runs.
    public var isRunning: Bool
    /// Whether the device has failed (and stopped) and needs repair.
    public var isFailed: Bool
}
