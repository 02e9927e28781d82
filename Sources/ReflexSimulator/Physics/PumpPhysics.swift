import Foundation

/// A centrifugal pump on a variable-speed drive, following the affinity laws: flow ∝ speed,
/// head ∝ speed², power ∝ speed³. See `docs/simulator.md` for the equations.
public struct PumpState: Sendable, Equatable {
    /// Rated (maximum) speed in rpm; `set_speed` accepts 0...ratedSpeed.
    public static let ratedSpeed = 3000.0
    /// The drive's acceleration and deceleration, rpm per second.
    public static let rampRate = 300.0
    /// Time constant of the bearing temperature, seconds.
    public static let thermalTau = 300.0
    /// Bearing temperature at which the protection relay trips the pump (a failure).
    public static let tripTemperature = 95.0
    /// The speed a new pump runs at.
    public static let defaultSpeed = 2400.0

    /// The speed the drive is asked for (rpm); 0 when stopped.
    public var speedSetpoint: Double = PumpState.defaultSpeed
    /// Whether the motor is energised.
    public var isRunning: Bool = true
    /// The shaft speed (rpm), ramping toward the setpoint.
    public var speed: Double = PumpState.defaultSpeed
    /// Bearing temperature, °C.
    public var bearingTemperature: Double
    /// Bearing wear, 0 (new) to 1 (failed).
    public var wear: Double = 0
    /// Extra heat from impaired cooling (overheating fault), °C added to the thermal target.
    public var excessHeat: Double = 0

    /// A pump running at its default speed, thermally settled for `time`.
    public init(time: Double) {
        bearingTemperature = Self.thermalTarget(speed: PumpState.defaultSpeed, wear: 0, excessHeat: 0, time: time)
    }

    /// Speed as a fraction of rated speed.
    public var loadFraction: Double { isRunning ? speedSetpoint / Self.ratedSpeed : 0 }

    /// The bearing temperature the pump settles at for a speed: ambient + 30 °C × (n/n_rated)²,
    /// plus 25 °C × (n / 2400 rpm) at full wear (friction heat), plus any excess heat.
    static func thermalTarget(speed: Double, wear: Double, excessHeat: Double, time: Double) -> Double {
        let r = speed / ratedSpeed
        return DailyCycle.ambientTemperature(at: time) + 30 * r * r + 25 * wear * r / 0.8 + excessHeat
    }

    /// Advances the pump by `dt` seconds ending at `time`. Pure.
    public func stepped(dt: Double, time: Double, faults: PhysicalFaults) -> PumpState {
        var next = self
        let target = isRunning ? speedSetpoint : 0
        next.speed = ramp(speed, toward: target, rate: Self.rampRate, dt: dt)
        let stress = PhysicalFaults.stress(loadFraction: loadFraction)
        if faults.bearingWear {
            next.wear = min(1, wear + PhysicalFaults.wearRate * stress * dt)
        }
        if faults.overheating && stress > 0 {
            next.excessHeat = excessHeat + 0.25 * stress * dt
        } else {
            next.excessHeat = approach(excessHeat, 0, tau: PhysicalFaults.heatDecayTau, dt: dt)
        }
        let thermal = Self.thermalTarget(speed: next.speed, wear: next.wear, excessHeat: next.excessHeat, time: time)
        next.bearingTemperature = approach(bearingTemperature, thermal, tau: Self.thermalTau, dt: dt)
        return next
    }

    /// Whether the pump has reached a failure: the bearing is worn out or too hot.
    public var failure: FaultKind? {
        if wear >= 1 { return .bearingWear }
        if bearingTemperature >= Self.tripTemperature { return .overheating }
        return nil
    }

    /// The true (noise-free) measurements at `time`.
    public func measurements(time: Double) -> [String: Double] {
        let r = speed / Self.ratedSpeed
        let demand = DailyCycle.demand(at: time)
        let energised = isRunning && speed > 0
        return [
            "speed": speed,
            "flow": 150 * r * demand,
            "pressure": 0.3 + 7.5 * r * r * (1.15 - 0.3 * demand),
            "motor_current": energised ? 6 + 38 * r * r * r * (0.6 + 0.4 * demand) + 4 * wear : 0,
            "vibration": speed > 0 ? 0.6 * r + 2.0 * r * r + 8 * wear * r : 0.05,
            "bearing_temperature": bearingTemperature,
        ]
    }

    /// Typical magnitudes of each metric: they scale noise, drift and spikes.
    static let scales: [String: Double] = [
        "speed": 2400, "flow": 100, "pressure": 5, "motor_current": 25, "vibration": 2, "bearing_temperature": 40,
    ]
}
