import Foundation
import Logging
import ReflexAutomation
import ReflexCore
import ReflexSimulator
import ReflexStore
import Synchronization
import Testing

@testable import ReflexDemo
@testable import ReflexNode
@testable import ReflexServer

@Suite(.serialized) struct DemoEndToEndTests {
    @Test("demo rules load without errors or warnings")
    func demoRulesLoad() throws {
        var engine = AutomationEngine()
        let (errors, _) = engine.loadFile(DemoRules.fileLabel, text: DemoRules.text, at: 0)
        #expect(errors.isEmpty, "\(errors)")
        #expect(engine.rules.count == 13)
        #expect(engine.rules.values.allSatisfy { $0.errors.isEmpty && $0.warnings.isEmpty })
    }

    @Test("the demo schedule cycles through the kinds on devices of the right type")
    func demoSchedule() {
        let plan = FleetPlan.devices(count: 12)
        let faults = DemoSchedule.make(devices: plan, first: 60, every: 180, horizon: 3600)
        #expect(faults.first?.at == 60)
        #expect(faults.count == 20)
        #expect(Set(faults.prefix(8).map(\.kind)) == Set(FaultKind.allCases))
        #expect(faults[0].deviceID.hasPrefix("pump-") && faults[2].deviceID.hasPrefix("chiller-"))
    }

    @Test(
        "over the real broker: a bearing fault trips the rule, the pump acks, the fault is mitigated, the audit explains",
        .timeLimit(.minutes(1))
    )
    func closedLoop() async throws {
        var configuration = AutonomyBenchmark.Configuration()
        configuration.devices = 3
        configuration.faults = 0
        configuration.overrides = 0
        configuration.speed = 20
        configuration.duration = .seconds(1)
        configuration.drain = .seconds(40)
        configuration.progress = { _ in }
        configuration.extraFaults = [ScheduledFault(at: 0, deviceID: "pump-001", kind: .bearingWear)]
        let audit = Mutex<[AuditEntry]>([])
        configuration.inspect = { handles in
            for _ in 0..<50 {
                let entries =
                    (try? await handles.automation.store.audit(device: "pump-001", rule: nil, limit: 100, before: nil))
                    ?? []
                audit.withLock { $0 = entries }
                if entries.contains(where: { $0.outcome == "done" }) { return }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        let report = try await AutonomyBenchmark(configuration: configuration, logger: Logger(label: "test")).run()

        #expect(report.faultCount == 1)
        #expect(report.detected == 1)
        #expect(report.physical == 1 && report.mitigated == 1, "fault not mitigated: \(report.text)")
        #expect(report.interlockViolations.isEmpty)
        let entries = audit.withLock { $0 }
        let fired = try #require(entries.first { $0.decision == .fired && $0.rule == "pump-bearing-wear" })
        #expect(fired.summary.contains("Sent set_speed {rpm: 1400} to pump-001"))
        #expect(fired.summary.contains("vibration"))
        #expect(fired.interlocks.allSatisfy { $0.held })
        #expect(entries.contains { $0.decision == .alarmRaised && $0.rule == "pump-bearing-wear" })
        #expect(entries.contains { $0.decision == .commandOutcome && $0.outcome == "done" })
    }
}
