public import Foundation
public import ReflexCore

/// Where live detection keeps what it must not lose: the checkpointed state of every series'
/// detector and monitor with the commit-log cursor they were taken at, the anomaly band of
/// every scored sample, and the commit log it catches up from.
///
/// ``SQLiteSampleStore`` conforms, with the tables `detector_checkpoints` and `anomaly_bands`
/// in `samples.sqlite` (see `SampleSchema`).
public protocol DetectionStore: Sendable {
    /// Every checkpointed state, by series.
    func loadDetectorCheckpoints() async throws -> [SeriesKey: Data]
    /// Replaces the states of the given series, and with a `cursor` the sequence number of the
    /// last commit-log entry they include, in one durable transaction.
    func saveDetectorCheckpoints(_ states: [SeriesKey: Data], cursor: Int64?, at timestamp: Int64) async throws
    /// The cursor saved with the checkpoints; nil if none was ever saved.
    func loadDetectionCursor() async throws -> Int64?
    /// The sequence number of the newest commit-log entry; 0 if none ever was.
    var lastCommittedSequence: Int64 { get }
    /// The in-memory feed of every commit-log entry from now on, at most `bufferSize` waiting;
    /// those that find it full are left out (read them with ``commitLogPage(after:through:limit:)``).
    func commitFeed(bufferSize: Int) -> CommitFeed
    /// Commit-log entries with `after < sequence <= through`, oldest first, at most `limit`.
    func commitLogPage(after: Int64, through: Int64, limit: Int) async throws -> CommitLogPage
    /// Deletes the commit-log entries up to `sequence`; returns how many.
    func trimCommitLog(through sequence: Int64) async throws -> Int
    /// Stores band rows of scored samples in one transaction; a row at an existing
    /// (series, timestamp) replaces it. Rows of series the store does not know are skipped.
    func appendAnomalyPoints(_ points: [(series: SeriesKey, point: AnomalyPoint)]) async throws
    /// Band rows of `key` in `[from, to)`, oldest first, at most `limit`.
    func anomalyPoints(_ key: SeriesKey, from: Int64, to: Int64, limit: Int) async throws -> [AnomalyPoint]
    /// Band rows of `key` in `[from, to)` summarised per epoch-aligned bucket of `step` ms:
    /// max score, mean expected, min lower, max upper, the bucket's last value.
    func anomalyBuckets(_ key: SeriesKey, from: Int64, to: Int64, step: Int64) async throws -> [AnomalyPoint]
    /// Deletes band rows older than the raw-sample retention horizon; returns how many.
    func pruneAnomalyPoints(now: Int64) async throws -> Int
}

extension DetectionStore {
    /// Replaces the states of the given series in one durable transaction, leaving the cursor.
    public func saveDetectorCheckpoints(_ states: [SeriesKey: Data], at timestamp: Int64) async throws {
        try await saveDetectorCheckpoints(states, cursor: nil, at: timestamp)
    }
}
