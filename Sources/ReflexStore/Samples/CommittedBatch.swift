public import ReflexCore

/// A telemetry batch as the commit log holds it: its place in commit order and when it was
/// committed.
///
/// ``sequence`` numbers the logged batches of `samples.sqlite` in the order their group commits
/// ran (and, within a group, in enqueue order), which is also the order the completions run and
/// committed telemetry is published. It only grows: numbers are never reused, also after the
/// log is trimmed.
public struct CommittedBatch: Sendable, Hashable {
    /// The batch's position in commit order, from 1.
    public var sequence: Int64
    /// When its group was committed, ms since the epoch.
    public var committedAt: Int64
    /// The batch as it was enqueued, without samples of the node's own series
    /// (``ReservedMetricNames``).
    public var batch: TelemetryBatch

    /// Creates a log entry.
    public init(sequence: Int64, committedAt: Int64, batch: TelemetryBatch) {
        self.sequence = sequence
        self.committedAt = committedAt
        self.batch = batch
    }
}
