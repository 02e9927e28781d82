import ReflexAutomation
import ReflexCore
import Testing

@testable import ReflexNode
@testable import ReflexServer

/// The sources `/metrics` reads: `/proc` parsing, automation's decision counters, heartbeats.
@Suite("Metrics sources: /proc parsing, automation counters, heartbeats")
struct MetricsSourcesTests {
    @Test("statm and stat are parsed, also with spaces and parentheses in the command name")
    func procParsing() throws {
        let statm = try #require(ProcessStatistics.parseStatm("221000 15720 3000 300 0 40000 0\n"))
        #expect(statm.size == 221_000 && statm.resident == 15_720)
        #expect(ProcessStatistics.parseStatm("garbage") == nil)
        let fields = (3...52).map { $0 == 22 ? "987654" : "\($0)" }.joined(separator: " ")
        #expect(ProcessStatistics.startTicks(fromStat: "4242 (re flex (x)) \(fields)") == 987_654)
        #expect(ProcessStatistics.startTicks(fromStat: "4242 (reflex) S 1 2") == nil)
        #expect(
            ProcessStatistics.bootTime(fromProcStat: "cpu  1 2 3\nbtime 1796640000\nprocesses 9\n") == 1_796_640_000
        )
    }

    @Test("this process's figures are read on Linux")
    func currentProcess() {
        #if os(Linux)
        let figures = ProcessStatistics.current()
        #expect((figures.residentBytes ?? 0) > 1_000_000)
        #expect((figures.openFileDescriptors ?? 0) > 2)
        #expect((figures.startTimeSeconds ?? 0) > 1_600_000_000)
        #endif
    }

    @Test("decisions count by outcome; other actions do not count")
    func automationCounters() throws {
        let counters = AutomationCounters()
        let device = try DeviceID(validating: "pump-1")
        func audit(_ decision: AuditDecision) -> AutomationAction {
            .audit(AuditEntry(at: 1, device: device, decision: decision, summary: "s", actor: "system"))
        }
        counters.record([audit(.fired), audit(.suppressedInterlock), audit(.fired), .publishDesired(device, [:])])
        let value = counters.value
        #expect(value.decisions[.fired] == 2)
        #expect(value.decisions[.suppressedInterlock] == 1)
        #expect(value.finishedCommands.isEmpty)
    }

    @Test("a heartbeat records its last beat and count")
    func heartbeat() {
        let beat = Heartbeat(interval: .seconds(1))
        #expect(beat.lastBeat == nil && beat.beats == 0)
        beat.beat(at: 1_000)
        beat.beat(at: 2_000)
        #expect(beat.lastBeat == 2_000 && beat.beats == 2)
    }
}
