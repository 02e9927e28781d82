import Testing

@testable import ReflexSimulator

@Suite("Simulator fault schedules")
struct ScheduleTests {
    let ids = FleetPlan.devices(count: 50).map(\.id)

    @Test("the same seed gives the same plan; another seed another plan")
    func deterministic() {
        let a = FaultSchedule.make(count: 40, window: 600, deviceIDs: ids, seed: 9)
        let b = FaultSchedule.make(count: 40, window: 600, deviceIDs: ids, seed: 9)
        let c = FaultSchedule.make(count: 40, window: 600, deviceIDs: ids, seed: 10)
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 40)
    }

    @Test("faults are spread over the window, on distinct devices while devices last")
    func spread() {
        let plan = FaultSchedule.make(count: 40, window: 600, deviceIDs: ids, seed: 3)
        #expect(plan.allSatisfy { $0.at >= 0 && $0.at < 600 })
        #expect(plan.map(\.at) == plan.map(\.at).sorted())
        #expect(Set(plan.map(\.deviceID)).count == 40)
        #expect(plan.filter { $0.at < 300 }.count == 20)
        #expect(plan.contains { $0.kind.isPhysical } && plan.contains { !$0.kind.isPhysical })
    }

    @Test("a seeded simulation with a schedule produces the same fault log and readings twice")
    func reproducibleRun() {
        func run() -> ([FaultRecord], Reading?) {
            let devices = FleetPlan.devices(count: 8)
            let plan = FaultSchedule.make(count: 6, window: 600, deviceIDs: devices.map(\.id), seed: 5)
            var simulation = Simulation(devices: devices, seed: 5, startTime: noon, schedule: plan)
            simulation.advance(by: 1800)
            return (simulation.faultLog, simulation.reading(of: devices[0].id))
        }
        let (firstLog, firstReading) = run()
        let (secondLog, secondReading) = run()
        #expect(firstLog.count == 6)
        #expect(firstLog == secondLog)
        #expect(firstReading == secondReading)
    }

    @Test("the fleet plan names pumps and chillers with site and line labels")
    func plan() {
        let plan = FleetPlan.devices(count: 6)
        #expect(plan.map(\.id) == ["pump-001", "pump-002", "pump-003", "pump-004", "chiller-001", "chiller-002"])
        #expect(plan.allSatisfy { $0.labels["site"] != nil && $0.labels["line"] != nil })
        #expect(FleetPlan.devices(count: 1).map(\.kind) == [.pump])
    }
}
