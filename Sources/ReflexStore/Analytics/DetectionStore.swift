public import Foundation
public import ReflexCore

/// Where live detection keeps what it must not lose: the checkpointed state of every series'
/// detector and monitor, and the anomaly band of every scored sample.
///
/// ``SQLiteSampleStore`` conforms, with the tables `detector_checkpoints` and `anomaly_bands`
/// in `samples.sqlite` (see `SampleSchema`).
public protocol DetectionStore: Sendable {
    /// Every checkpointed state, by series.
    func loadDetectorCheckpoints() async throws -> [SeriesKey: Data]
    /// Replaces the states of the given series in one durable transaction.
    func saveDetectorCheckpoints(_ states: [SeriesKey: Data], at timestamp: Int64) async throws
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
