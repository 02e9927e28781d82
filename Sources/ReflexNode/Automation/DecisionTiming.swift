/// The moments of one telemetry-to-command decision: the batch handed to the store, its commit,
/// automation receiving it from the bus, the engine's decision, the command's publish.
struct DecisionTiming: Sendable {
    var enqueuedAt: ContinuousClock.Instant
    var committedAt: ContinuousClock.Instant
    var receivedAt: ContinuousClock.Instant
    var decidedAt: ContinuousClock.Instant?
}

/// Percentiles of each stage of the recorded decisions, in microseconds.
public struct DecisionTimingSummary: Sendable, Equatable {
    /// p50 and p99 of one stage, in microseconds.
    public struct Stage: Sendable, Equatable {
        public var p50: Double
        public var p99: Double
    }

    /// How many decisions were recorded.
    public var count: Int = 0
    /// Store enqueue → commit done (the group commit; a PUBACK waits for it).
    public var commit: Stage?
    /// Commit done → automation has the batch (the event bus).
    public var bus: Stage?
    /// Automation has the batch → the engine has decided (rules, interlocks, safety).
    public var engine: Stage?
    /// Decided → the command's publish returned (broker routing, persistence of the session).
    public var publish: Stage?
    /// Store enqueue → publish returned.
    public var total: Stage?

    /// An empty summary (no decision recorded).
    public init() {}

    init(count: Int, commit: Stage?, bus: Stage?, engine: Stage?, publish: Stage?, total: Stage?) {
        self.count = count
        self.commit = commit
        self.bus = bus
        self.engine = engine
        self.publish = publish
        self.total = total
    }
}

/// The last N decision timings, stage by stage.
struct DecisionTimingRecorder: Sendable {
    private var commit: LatencyRecorder
    private var bus: LatencyRecorder
    private var engine: LatencyRecorder
    private var publish: LatencyRecorder
    private var total: LatencyRecorder

    init(capacity: Int) {
        commit = LatencyRecorder(capacity: capacity)
        bus = LatencyRecorder(capacity: capacity)
        engine = LatencyRecorder(capacity: capacity)
        publish = LatencyRecorder(capacity: capacity)
        total = LatencyRecorder(capacity: capacity)
    }

    mutating func record(_ timing: DecisionTiming, publishedAt: ContinuousClock.Instant) {
        let decidedAt = timing.decidedAt ?? publishedAt
        commit.record(timing.committedAt - timing.enqueuedAt)
        bus.record(timing.receivedAt - timing.committedAt)
        engine.record(decidedAt - timing.receivedAt)
        publish.record(publishedAt - decidedAt)
        total.record(publishedAt - timing.enqueuedAt)
    }

    var summary: DecisionTimingSummary {
        func stage(_ recorder: LatencyRecorder) -> DecisionTimingSummary.Stage? {
            guard let p50 = recorder.percentile(0.5), let p99 = recorder.percentile(0.99) else { return nil }
            return DecisionTimingSummary.Stage(p50: p50, p99: p99)
        }
        return DecisionTimingSummary(
            count: total.values.count,
            commit: stage(commit),
            bus: stage(bus),
            engine: stage(engine),
            publish: stage(publish),
            total: stage(total)
        )
    }
}
