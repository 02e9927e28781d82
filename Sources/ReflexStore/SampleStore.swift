public import ReflexCore

/// Durable storage of telemetry samples: the contract behind "no acknowledged data is lost".
///
/// Implementations: ``SQLiteSampleStore`` (GRDB, WAL, group commit). A PostgreSQL one follows.
public protocol SampleStore: Sendable {
    /// Queues `batch` for the next group commit and calls `completion` once it is durable
    /// (or failed). Cheap and non-blocking, so the MQTT event loop can call it per PUBLISH and
    /// send the PUBACK from the completion. Samples are idempotent per (series, timestamp): a
    /// repeated sample overwrites the stored value, so a redelivered message is stored once.
    func enqueue(_ batch: TelemetryBatch, completion: @escaping @Sendable (Result<Void, any Error>) -> Void)

    /// The same as ``enqueue(_:completion:)``, awaiting the commit.
    func append(_ batch: TelemetryBatch) async throws
}
