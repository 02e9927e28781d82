@testable import ReflexSimulator

/// Noon UTC on 2026-11-26: the daily cycle is near its peak.
let noon = 1_795_003_200.0

func pumpAndChiller(seed: UInt64 = 7, schedule: [ScheduledFault] = []) -> Simulation {
    Simulation(
        devices: [
            PlannedDevice(id: "pump-001", kind: .pump, labels: [:]),
            PlannedDevice(id: "chiller-001", kind: .chiller, labels: [:]),
        ],
        seed: seed,
        startTime: noon,
        schedule: schedule
    )
}

extension Simulation {
    func truth(_ id: String) -> [String: Double] {
        device(id)?.truth(at: now) ?? [:]
    }

    func record(_ id: Int) -> FaultRecord? {
        faultLog.first { $0.id == id }
    }
}
