import ReflexServer
import ReflexStore
import Testing

/// ``HealthRules``: each part's states from fake inputs, and the overall status (the worst part).
@Suite("Health rules: store, ingest writer, broker, runners")
struct HealthRulesTests {
    static let start: Int64 = 1_800_000_000_000
    static let now = start + 600_000

    static func store(
        pending: Int = 0,
        lastCommitAt: Int64? = nil,
        lastFailedCommitAt: Int64? = nil,
        failed: Int64 = 0
    ) -> IngestStatistics {
        var statistics = IngestStatistics()
        statistics.pendingSamples = pending
        statistics.lastCommitAt = lastCommitAt
        statistics.lastFailedCommitAt = lastFailedCommitAt
        statistics.failedCommits = failed
        return statistics
    }

    static let commitsWithoutTimes: IngestStatistics = {
        var statistics = store(pending: 10)
        statistics.commits = 5
        return statistics
    }()

    static func state(of part: String, in inputs: HealthInputs) -> HealthState? {
        HealthRules.evaluate(inputs).checks.first { $0.part == part }?.state
    }

    @Test(
        "the store is failing when its latest commit failed, degraded for a minute after it recovers",
        arguments: [
            (store(lastCommitAt: now - 1_000), HealthState.ok),
            (store(), .ok),
            (store(lastCommitAt: now - 5_000, lastFailedCommitAt: now - 1_000, failed: 3), .failing),
            (store(lastFailedCommitAt: now - 1_000, failed: 1), .failing),
            (store(lastCommitAt: now - 1_000, lastFailedCommitAt: now - 5_000, failed: 1), .degraded),
            (store(lastCommitAt: now - 1_000, lastFailedCommitAt: now - 120_000, failed: 1), .ok),
        ]
    )
    func storeStates(statistics: IngestStatistics, expected: HealthState) {
        let inputs = HealthInputs(now: Self.now, startedAt: Self.start, store: statistics)
        #expect(Self.state(of: "store", in: inputs) == expected)
    }

    @Test(
        "the ingest writer is failing when samples wait and no commit succeeded for 10 s",
        arguments: [
            (store(pending: 0, lastCommitAt: now - 60_000), HealthState.ok),
            (store(pending: 500, lastCommitAt: now - 2_000), .ok),
            (store(pending: 500, lastCommitAt: now - 11_000), .failing),
            (store(pending: 1), .failing),  // never committed since the start, 600 s ago
            (commitsWithoutTimes, .ok),  // a backend that does not report commit times is not judged
        ]
    )
    func writerStates(statistics: IngestStatistics, expected: HealthState) {
        let inputs = HealthInputs(now: Self.now, startedAt: Self.start, store: statistics)
        #expect(Self.state(of: "ingest", in: inputs) == expected)
    }

    @Test(
        "the broker is failing when not listening, degraded at mqtt.maxConnections",
        arguments: [
            (HealthInputs.Broker(isListening: true, connected: 3, maxConnections: 10), HealthState.ok),
            (HealthInputs.Broker(isListening: true, connected: 10, maxConnections: 10), .degraded),
            (HealthInputs.Broker(isListening: false, connected: 0, maxConnections: 10), .failing),
        ]
    )
    func brokerStates(broker: HealthInputs.Broker, expected: HealthState) {
        let inputs = HealthInputs(now: Self.now, startedAt: Self.start, broker: broker)
        #expect(Self.state(of: "broker", in: inputs) == expected)
    }

    @Test(
        "a runner is stale after five missed beats (at least 30 s), or with no beat 30 s past that since the start",
        arguments: [
            (HealthInputs.Runner(lastBeat: now - 1_000, interval: .seconds(1)), Self.start, HealthState.ok),
            (HealthInputs.Runner(lastBeat: now - 20_000, interval: .seconds(1)), Self.start, .ok),
            (HealthInputs.Runner(lastBeat: now - 31_000, interval: .seconds(1)), Self.start, .failing),
            (HealthInputs.Runner(lastBeat: now - 45_000, interval: .seconds(10)), Self.start, .ok),
            (HealthInputs.Runner(lastBeat: now - 51_000, interval: .seconds(10)), Self.start, .failing),
            (HealthInputs.Runner(lastBeat: nil, interval: .seconds(1)), Self.now - 50_000, .ok),
            (HealthInputs.Runner(lastBeat: nil, interval: .seconds(1)), Self.now - 61_000, .failing),
        ]
    )
    func runnerStates(runner: HealthInputs.Runner, startedAt: Int64, expected: HealthState) {
        let inputs = HealthInputs(now: Self.now, startedAt: startedAt, automation: runner)
        #expect(Self.state(of: "automation", in: inputs) == expected)
    }

    @Test("detection is degraded by its lag while its loop is alive, failing when the loop stops")
    func detectionStates() {
        let alive = HealthInputs.Runner(lastBeat: Self.now - 500, interval: .seconds(1))
        let lagging = HealthInputs.Detection(
            runner: alive,
            lagProblem: "scoring is 75 s behind",
            batchesBehind: 50,
            secondsBehind: 75
        )
        #expect(
            Self.state(of: "detection", in: .init(now: Self.now, startedAt: Self.start, detection: lagging))
                == .degraded
        )
        var stopped = lagging
        stopped.runner.lastBeat = Self.now - 60_000
        #expect(
            Self.state(of: "detection", in: .init(now: Self.now, startedAt: Self.start, detection: stopped)) == .failing
        )
        let fine = HealthInputs.Detection(runner: alive, lagProblem: nil, batchesBehind: 0, secondsBehind: 0)
        #expect(Self.state(of: "detection", in: .init(now: Self.now, startedAt: Self.start, detection: fine)) == .ok)
    }

    @Test("the node's status is its worst part")
    func overallStatus() {
        let ok = HealthInputs(
            now: Self.now,
            startedAt: Self.start,
            store: Self.store(lastCommitAt: Self.now - 100),
            broker: .init(isListening: true, connected: 0, maxConnections: 5)
        )
        #expect(HealthRules.evaluate(ok).status == .ok)
        var full = ok
        full.broker?.connected = 5
        #expect(HealthRules.evaluate(full).status == .degraded)
        var failing = full
        failing.store = Self.store(lastCommitAt: Self.now - 5_000, lastFailedCommitAt: Self.now - 100, failed: 1)
        #expect(HealthRules.evaluate(failing).status == .failing)
        #expect(HealthRules.evaluate(HealthInputs(now: Self.now, startedAt: Self.start)).status == .ok)
    }
}
