import ReflexCore
import Testing

@testable import ReflexSimulator

@Suite("Simulator faults")
struct FaultTests {
    /// Physical faults at default operating points and the documented horizons (docs/simulator.md).
    static let horizons: [(FaultKind, String, Double)] = [
        (.bearingWear, "pump-001", 20 * 60),
        (.overheating, "pump-001", 12 * 60),
        (.bearingWear, "chiller-001", 30 * 60),
        (.overheating, "chiller-001", 25 * 60),
    ]

    @Test("an unmitigated physical fault ends in a failure within its horizon: the device stops", arguments: horizons)
    func unmitigatedFails(kind: FaultKind, device: String, horizon: Double) throws {
        var simulation = pumpAndChiller()
        let record = try simulation.inject(kind, into: device)
        simulation.advance(by: horizon)
        let after = try #require(simulation.record(record.id))
        guard case .failed(let at) = after.outcome else {
            Issue.record("expected failure within \(horizon) s, got \(after.outcome)")
            return
        }
        #expect(at > 120)  // not instantaneous: there is time to react
        let state = try #require(simulation.device(device))
        #expect(state.failure == kind)
        #expect(!state.isRunning)
        let readingSample = simulation.reading(of: device)
        let reading = try #require(readingSample)
        #expect(reading.isFailed)
        // A failed device refuses to start until repaired.
        #expect(simulation.apply("start", params: [:], to: device).status == .rejected)
        try simulation.repair(device)
        #expect(simulation.apply("start", params: [:], to: device).status == .done)
    }

    static let mitigations: [(FaultKind, String, String, [String: JSONValue])] = [
        (.bearingWear, "pump-001", "set_speed", ["rpm": .number(1400)]),
        (.overheating, "pump-001", "set_speed", ["rpm": .number(1500)]),
        (.overheating, "pump-001", "stop", [:]),
        (.bearingWear, "chiller-001", "set_load", ["percent": .number(40)]),
        (.overheating, "chiller-001", "set_load", ["percent": .number(50)]),
        (.overheating, "chiller-001", "stop", [:]),
    ]

    @Test("a mitigating command in time prevents the failure and is logged", arguments: mitigations)
    func mitigationPreventsFailure(
        kind: FaultKind,
        device: String,
        command: String,
        params: [String: JSONValue]
    )
        throws
    {
        var simulation = pumpAndChiller()
        let record = try simulation.inject(kind, into: device)
        simulation.advance(by: 180)
        #expect(simulation.record(record.id)?.outcome == .running)
        #expect(simulation.apply(command, params: params, to: device).status == .done)
        simulation.advance(by: 3 * 3600)
        let after = try #require(simulation.record(record.id))
        #expect(after.outcome == .mitigated(at: 181))
        #expect(after.mitigatedAt == 181)
        #expect(simulation.device(device)?.failure == nil)
    }

    @Test("raising the load again after mitigation lets the fault progress to failure")
    func provokedAgain() throws {
        var simulation = pumpAndChiller()
        let record = try simulation.inject(.overheating, into: "pump-001")
        _ = simulation.apply("set_speed", params: ["rpm": .number(1200)], to: "pump-001")
        simulation.advance(by: 60)
        _ = simulation.apply("set_speed", params: ["rpm": .number(3000)], to: "pump-001")
        simulation.advance(by: 3600)
        let after = try #require(simulation.record(record.id))
        guard case .failed = after.outcome else {
            Issue.record("expected failure, got \(after.outcome)")
            return
        }
        #expect(after.mitigatedAt == 1)
    }

    @Test(
        "sensor faults change one reading but not the physics",
        arguments: [
            FaultKind.sensorDrift, .stuckSensor, .spikes,
        ]
    )
    func sensorFaultsLeavePhysics(kind: FaultKind) throws {
        var clean = pumpAndChiller()
        var faulty = pumpAndChiller()
        let record = try faulty.inject(kind, into: "pump-001", metric: "bearing_temperature")
        _ = try clean.inject(.communicationLoss, into: "chiller-001", duration: 0)  // keep the seeded draws aligned
        _ = try faulty.inject(.communicationLoss, into: "chiller-001", duration: 0)
        var cleanValues: [Double] = []
        var faultyValues: [Double] = []
        for _ in 0..<120 {
            clean.advance(by: 5)
            faulty.advance(by: 5)
            let cleanValuesSample = clean.reading(of: "pump-001")
            cleanValues.append(try #require(cleanValuesSample?.values["bearing_temperature"]))
            let faultyValuesSample = faulty.reading(of: "pump-001")
            faultyValues.append(try #require(faultyValuesSample?.values["bearing_temperature"]))
        }
        #expect(clean.truth("pump-001") == faulty.truth("pump-001"))
        #expect(cleanValues != faultyValues)
        switch kind {
        case .sensorDrift:
            #expect(abs(faultyValues[109] - cleanValues[109]) > 30)  // 4 °C per minute for 9 minutes
        case .stuckSensor:
            #expect(Set(faultyValues.prefix(100)).count == 1)
        default:
            #expect(zip(cleanValues, faultyValues).contains { abs($0 - $1) > 100 })
        }
        #expect(faulty.record(record.id)?.outcome == .ended(at: 600))
    }

    @Test("a repair closes the device's running physical faults as repaired and leaves it stopped until started")
    func repairClosesFaults() throws {
        var simulation = pumpAndChiller()
        let overheating = try simulation.inject(.overheating, into: "pump-001")
        let silence = try simulation.inject(.communicationLoss, into: "pump-001", duration: 600)
        simulation.advance(by: 60)
        try simulation.repair("pump-001")
        #expect(simulation.record(overheating.id)?.outcome == .repaired(at: 60))
        #expect(simulation.record(silence.id)?.outcome == .running)  // the link is not the machine
        #expect(simulation.device("pump-001")?.isRunning == false)
        #expect(simulation.apply("start", params: [:], to: "pump-001").status == .done)
        simulation.advance(by: 20 * 60)
        // Back at full load, the repaired fault stays closed and the pump does not fail.
        #expect(simulation.record(overheating.id)?.outcome == .repaired(at: 60))
        #expect(simulation.device("pump-001")?.failure == nil)
    }

    @Test("communication loss silences a device for its duration, then it speaks again")
    func communicationLoss() throws {
        var simulation = pumpAndChiller()
        let record = try simulation.inject(.communicationLoss, into: "pump-001", duration: 120)
        simulation.advance(by: 60)
        #expect(simulation.reading(of: "pump-001") == nil)
        #expect(simulation.isSilent("pump-001"))
        #expect(simulation.reading(of: "chiller-001") != nil)
        simulation.advance(by: 61)
        #expect(simulation.reading(of: "pump-001") != nil)
        #expect(simulation.record(record.id)?.outcome == .ended(at: 120))
    }

    @Test("injecting into an unknown device or metric says what exists")
    func badInjection() {
        var simulation = pumpAndChiller()
        let device = #expect(throws: SimulationError.self) { try simulation.inject(.spikes, into: "pump-999") }
        #expect(device?.description.contains("pump-001") == true)
        let metric = #expect(throws: SimulationError.self) {
            try simulation.inject(.spikes, into: "pump-001", metric: "temprature")
        }
        #expect(metric?.description.contains("bearing_temperature") == true)
    }
}
