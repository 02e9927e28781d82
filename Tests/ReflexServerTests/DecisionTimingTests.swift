import Testing

@testable import ReflexNode

@Suite("decision timing: where a telemetry-to-command decision's time goes")
struct DecisionTimingTests {
    @Test("each stage is the difference of its two moments, and the total spans them all")
    func stages() throws {
        let t0 = ContinuousClock.now
        var recorder = DecisionTimingRecorder(capacity: 10)
        for i in 0..<4 {
            let base = t0 + .milliseconds(100 * i)
            recorder.record(
                DecisionTiming(
                    enqueuedAt: base,
                    committedAt: base + .microseconds(1_000),
                    receivedAt: base + .microseconds(1_200),
                    decidedAt: base + .microseconds(1_500)
                ),
                publishedAt: base + .microseconds(2_500)
            )
        }
        let summary = recorder.summary
        #expect(summary.count == 4)
        #expect(summary.commit == .init(p50: 1_000, p99: 1_000))
        #expect(summary.bus == .init(p50: 200, p99: 200))
        #expect(summary.engine == .init(p50: 300, p99: 300))
        #expect(summary.publish == .init(p50: 1_000, p99: 1_000))
        #expect(summary.total == .init(p50: 2_500, p99: 2_500))
    }

    @Test("nothing recorded: no stage figures")
    func empty() {
        #expect(DecisionTimingRecorder(capacity: 10).summary == DecisionTimingSummary())
    }
}
