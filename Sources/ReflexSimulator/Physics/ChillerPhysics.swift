import Foundation

/// A water chiller: a compressor moves heat from the chilled-water loop to a condenser. The
/// chilled-water supply temperature follows the setpoint; return temperature rises with load;
/// compressor current, power and condensing (refrigerant) pressure rise with load and ambient.
/// See `docs/simulator.md` for the equations.
public struct ChillerState: Sendable, Equatable {
    /// Accepted setpoints for `set_setpoint`, °C.
    public static let setpointRange = 4.0...15.0
    /// Accepted loads for `set_load`, percent.
    public static let loadRange = 0.0...100.0
    /// Refrigerant (condensing) pressure at which the high-pressure cut-out trips, bar.
    public static let tripPressure = 20.0
    /// Time constants, seconds.
    static let supplyTau = 120.0
    static let pressureTau = 60.0
    static let warmUpTau = 900.0

    /// Chilled-water supply setpoint, °C.
    public var setpoint: Double = 7
    /// The load limit the chiller is asked to run at, percent (its share of the daily demand).
    public var loadSetpoint: Double = 70
    /// Whether the compressor runs.
    public var isRunning: Bool = true
    /// Chilled-water supply temperature, °C.
    public var supplyTemperature: Double = 7
    /// Condensing pressure, bar.
    public var refrigerantPressure: Double
    /// Compressor bearing wear, 0 to 1.
    public var wear: Double = 0
    /// Extra condensing temperature from a fouled condenser (overheating fault), °C.
    public var excessHeat: Double = 0

    /// A chiller running at its defaults, settled for `time`.
    public init(time: Double) {
        refrigerantPressure = 0
        refrigerantPressure = pressureTarget(time: time, excessHeat: 0)
    }

    /// Load setpoint as a fraction; 0 when stopped.
    public var loadFraction: Double { isRunning ? loadSetpoint / 100 : 0 }

    /// The cooling load actually carried: the load setpoint times the daily demand.
    func carriedLoad(time: Double) -> Double { loadFraction * DailyCycle.demand(at: time) }

    func pressureTarget(time: Double, excessHeat: Double) -> Double {
        let ambient = DailyCycle.ambientTemperature(at: time)
        guard isRunning else { return 6 + 0.1 * (ambient - 15) }
        return 8 + 5 * carriedLoad(time: time) + 0.15 * (ambient - 15) + 0.2 * excessHeat
    }

    /// Advances the chiller by `dt` seconds ending at `time`. Pure.
    public func stepped(dt: Double, time: Double, faults: PhysicalFaults) -> ChillerState {
        var next = self
        let stress = PhysicalFaults.stress(loadFraction: loadFraction)
        if faults.bearingWear {
            next.wear = min(1, wear + PhysicalFaults.wearRate * stress * dt)
        }
        if faults.overheating && stress > 0 {
            next.excessHeat = excessHeat + 0.08 * stress * dt
        } else {
            next.excessHeat = approach(excessHeat, 0, tau: PhysicalFaults.heatDecayTau, dt: dt)
        }
        if isRunning {
            // Lost condenser capacity shows as a warmer supply too.
            next.supplyTemperature = approach(
                supplyTemperature,
                setpoint + 0.05 * next.excessHeat,
                tau: Self.supplyTau,
                dt: dt
            )
        } else {
            next.supplyTemperature = approach(supplyTemperature, 18, tau: Self.warmUpTau, dt: dt)
        }
        next.refrigerantPressure = approach(
            refrigerantPressure,
            next.pressureTarget(time: time, excessHeat: next.excessHeat),
            tau: Self.pressureTau,
            dt: dt
        )
        return next
    }

    /// Whether the chiller has reached a failure: worn-out compressor bearing or high-pressure trip.
    public var failure: FaultKind? {
        if wear >= 1 { return .bearingWear }
        if refrigerantPressure >= Self.tripPressure { return .overheating }
        return nil
    }

    /// The true (noise-free) measurements at `time`.
    public func measurements(time: Double) -> [String: Double] {
        let load = carriedLoad(time: time)
        let ambient = DailyCycle.ambientTemperature(at: time)
        let current = isRunning ? 30 + 150 * load + 1.5 * max(0, ambient - 15) + 40 * wear : 0
        return [
            "supply_temperature": supplyTemperature,
            "return_temperature": supplyTemperature + (isRunning ? 0.5 + 5.5 * load : 0.3),
            "compressor_current": current,
            "refrigerant_pressure": refrigerantPressure,
            "power": 0.61 * current,
        ]
    }

    static let scales: [String: Double] = [
        "supply_temperature": 7, "return_temperature": 12, "compressor_current": 120,
        "refrigerant_pressure": 11, "power": 70,
    ]
}
