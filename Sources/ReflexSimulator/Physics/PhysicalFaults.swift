/// Which physical faults are active on a device during a physics step. Sensor faults and
/// communication loss never reach the physics.
public struct PhysicalFaults: Sendable, Equatable {
    /// A bearing is wearing: ``wear`` grows while the device runs above the damage threshold.
    public var bearingWear: Bool = false
    /// Cooling is impaired: ``excessHeat`` grows while the device runs above the damage threshold.
    public var overheating: Bool = false

    public init(bearingWear: Bool = false, overheating: Bool = false) {
        self.bearingWear = bearingWear
        self.overheating = overheating
    }

    /// The load fraction (pump: speed / 3000 rpm; chiller: load setpoint / 100 %) at or below
    /// which physical faults stop progressing: the documented mitigation.
    public static let safeLoadFraction = 0.5

    /// How far above the safe load the device runs, scaled so that 80 % load gives 1.
    static func stress(loadFraction: Double) -> Double {
        max(0, loadFraction - safeLoadFraction) / 0.3
    }

    /// Wear per second at stress 1 (80 % load): from new to failed in 15 minutes.
    static let wearRate = 1.0 / 900
    /// Excess heat decays with this time constant (seconds) once the device runs at or below
    /// the safe load.
    static let heatDecayTau = 600.0
}
