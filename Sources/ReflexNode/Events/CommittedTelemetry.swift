public import ReflexCore

/// A batch on the node's telemetry bus: committed, with when it entered the store and when its
/// commit completed, so that later stages can say where the time of a decision went.
public struct CommittedTelemetry: Sendable {
    /// The samples, as committed.
    public var batch: TelemetryBatch
    /// When the batch was handed to the store (monotonic).
    public var enqueuedAt: ContinuousClock.Instant
    /// When the store reported it durable (monotonic).
    public var committedAt: ContinuousClock.Instant

    public init(batch: TelemetryBatch, enqueuedAt: ContinuousClock.Instant, committedAt: ContinuousClock.Instant) {
        self.batch = batch
        self.enqueuedAt = enqueuedAt
        self.committedAt = committedAt
    }
}

extension EventChannel where Element == CommittedTelemetry {
    /// Publishes a batch committed just now (for producers that do not time the commit).
    public func publish(_ batch: TelemetryBatch) {
        let now = ContinuousClock.now
        publish(CommittedTelemetry(batch: batch, enqueuedAt: now, committedAt: now))
    }
}
