import ReflexCore

/// One simulated device: its physics, its active faults and its noisy sensors. A value: stepping
/// it, reading it and commanding it are pure functions of its state and the arguments (the
/// noise comes from its own seeded generator).
public struct VirtualDevice: Sendable {
    /// A sensor fault acting on one metric.
    struct SensorFault: Sendable, Equatable {
        var recordID: Int
        var kind: FaultKind
        var metric: String
        var startedAt: Double
        var driftSign: Double
        var stuckValue: Double?
    }

    public let id: String
    public let kind: DeviceKind
    public let labels: [String: String]
    /// The physical state.
    public internal(set) var physics: DevicePhysics
    /// Why the device failed, once it has; a failed device stays stopped until repaired.
    public internal(set) var failure: FaultKind?
    /// Active physical faults: fault record id → kind.
    var physicalFaults: [Int: FaultKind] = [:]
    var sensorFaults: [SensorFault] = []
    /// The device publishes nothing until this simulated time (communication loss).
    var silentUntil: Double?
    var random: SeededGenerator

    /// A new device in its default operating point, thermally settled at `time`.
    public init(id: String, kind: DeviceKind, labels: [String: String] = [:], seed: UInt64, time: Double) {
        self.id = id
        self.kind = kind
        self.labels = labels
        self.random = SeededGenerator(seed: seed)
        switch kind {
        case .pump: physics = .pump(PumpState(time: time))
        case .chiller: physics = .chiller(ChillerState(time: time))
        }
    }

    /// Load as a fraction: pump speed setpoint / 3000 rpm, chiller load setpoint / 100 %; 0 when
    /// stopped. Physical faults progress only above ``PhysicalFaults/safeLoadFraction``.
    public var loadFraction: Double {
        switch physics {
        case .pump(let pump): pump.loadFraction
        case .chiller(let chiller): chiller.loadFraction
        }
    }

    /// Whether the device runs.
    public var isRunning: Bool {
        switch physics {
        case .pump(let pump): pump.isRunning
        case .chiller(let chiller): chiller.isRunning
        }
    }

    /// The true values of the device's metrics at `time`, without noise or sensor faults.
    public func truth(at time: Double) -> [String: Double] {
        switch physics {
        case .pump(let pump): pump.measurements(time: time)
        case .chiller(let chiller): chiller.measurements(time: time)
        }
    }

    /// Whether the device is silent (communication loss) at `time`.
    public func isSilent(at time: Double) -> Bool {
        guard let silentUntil else { return false }
        return time < silentUntil
    }

    // MARK: - Physics

    /// Advances the physics by `dt` seconds ending at `time`; a device that reaches a failure stops.
    /// Pure in the physics state and the active physical faults.
    public mutating func step(dt: Double, time: Double) {
        let faults = PhysicalFaults(
            bearingWear: physicalFaults.values.contains(.bearingWear),
            overheating: physicalFaults.values.contains(.overheating)
        )
        switch physics {
        case .pump(let pump):
            var next = pump.stepped(dt: dt, time: time, faults: faults)
            if failure == nil, let reason = next.failure {
                failure = reason
                next.isRunning = false
            }
            physics = .pump(next)
        case .chiller(let chiller):
            var next = chiller.stepped(dt: dt, time: time, faults: faults)
            if failure == nil, let reason = next.failure {
                failure = reason
                next.isRunning = false
            }
            physics = .chiller(next)
        }
    }

    // MARK: - Readings

    /// One reading at `time`: the truth plus Gaussian noise (1 % of each metric's typical
    /// magnitude), with sensor faults applied. Advances the noise generator.
    public mutating func reading(at time: Double) -> Reading {
        let truth = truth(at: time)
        let scales = kind == .pump ? PumpState.scales : ChillerState.scales
        var values: [String: Double] = [:]
        for metric in kind.metrics {
            let value = truth[metric] ?? 0
            let noise = random.gaussian() * 0.01 * (scales[metric] ?? 1)
            values[metric] = value == 0 ? 0 : max(0, value + noise)  // no sensor reads below zero
        }
        for index in sensorFaults.indices {
            let fault = sensorFaults[index]
            guard let measured = values[fault.metric] else { continue }
            let scale = scales[fault.metric] ?? 1
            switch fault.kind {
            case .sensorDrift:
                // 10 % of the metric's typical magnitude per minute, away from the truth.
                values[fault.metric] = measured + fault.driftSign * scale * 0.1 * (time - fault.startedAt) / 60
            case .stuckSensor:
                if let stuck = fault.stuckValue {
                    values[fault.metric] = stuck
                } else {
                    sensorFaults[index].stuckValue = measured
                }
            case .spikes:
                // One reading in ten jumps by 3 to 6 typical magnitudes.
                if random.unit() < 0.1 {
                    let sign: Double = random.unit() < 0.5 ? -1 : 1
                    values[fault.metric] = measured + sign * scale * (3 + 3 * random.unit())
                }
            case .bearingWear, .overheating, .communicationLoss:
                break
            }
        }
        return Reading(values: values, isRunning: isRunning, isFailed: failure != nil)
    }

    // MARK: - Faults

    /// Starts a fault described by `record` (its kind, metric and end).
    mutating func begin(_ record: FaultRecord) {
        switch record.kind {
        case .bearingWear, .overheating:
            physicalFaults[record.id] = record.kind
        case .sensorDrift, .stuckSensor, .spikes:
            let sign: Double = random.unit() < 0.5 ? -1 : 1
            sensorFaults.append(
                SensorFault(
                    recordID: record.id,
                    kind: record.kind,
                    metric: record.metric ?? kind.metrics[0],
                    startedAt: record.startedAt,
                    driftSign: sign
                )
            )
        case .communicationLoss:
            silentUntil = max(silentUntil ?? 0, record.endsAt ?? record.startedAt)
        }
    }

    /// Ends a sensor fault or communication loss (physical faults end with a failure or a repair).
    mutating func end(_ record: FaultRecord) {
        sensorFaults.removeAll { $0.recordID == record.id }
        physicalFaults[record.id] = nil
    }

    /// Puts a failed or worn device back to new: no wear, no excess heat, no physical faults,
    /// stopped (a `start` command brings it back).
    public mutating func repair() {
        failure = nil
        physicalFaults = [:]
        switch physics {
        case .pump(var pump):
            pump.wear = 0
            pump.excessHeat = 0
            pump.isRunning = false
            physics = .pump(pump)
        case .chiller(var chiller):
            chiller.wear = 0
            chiller.excessHeat = 0
            chiller.isRunning = false
            physics = .chiller(chiller)
        }
    }
}
