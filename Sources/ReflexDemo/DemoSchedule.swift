import ReflexNode
import ReflexServer
package import ReflexSimulator

/// The demo's endless fault plan: a first fault soon after the start, then one every interval,
/// cycling through the fault kinds and through the devices of the right type.
package enum DemoSchedule {
    /// The order the kinds come in: a physical fault, a sensor fault, and so on.
    static let cycle: [(FaultKind, DeviceKind?)] = [
        (.bearingWear, .pump), (.stuckSensor, nil), (.overheating, .chiller), (.spikes, nil),
        (.overheating, .pump), (.communicationLoss, nil), (.bearingWear, .chiller), (.sensorDrift, nil),
    ]

    /// Faults at `first`, `first + every`, ... up to `horizon` (simulated seconds).
    /// - Parameters:
    ///   - devices: the fleet.
    ///   - first: simulated seconds before the first fault.
    ///   - every: simulated seconds between faults.
    ///   - horizon: simulated seconds the plan covers.
    package static func make(
        devices: [PlannedDevice],
        first: Double,
        every: Double,
        horizon: Double
    ) -> [ScheduledFault] {
        guard !devices.isEmpty, every > 0 else { return [] }
        let pumps = devices.filter { $0.kind == .pump }
        let chillers = devices.filter { $0.kind == .chiller }
        var next: [DeviceKind?: Int] = [:]
        var plan: [ScheduledFault] = []
        var at = first
        var index = 0
        while at <= horizon {
            let (kind, wanted) = cycle[index % cycle.count]
            let pool = wanted == .pump ? pumps : wanted == .chiller ? chillers : devices
            let candidates = pool.isEmpty ? devices : pool
            let position = next[wanted, default: 0]
            next[wanted] = position + 1
            plan.append(ScheduledFault(at: at, deviceID: candidates[position % candidates.count].id, kind: kind))
            at += every
            index += 1
        }
        return plan
    }
}
