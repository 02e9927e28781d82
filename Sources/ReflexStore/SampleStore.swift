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

/// Reading back what a ``SampleStore`` committed. Implementations keep their SQL to themselves;
/// callers see only domain values.
///
/// Time ranges are half-open, `[from, to)`, in milliseconds since the Unix epoch.
public protocol SampleQuerying: Sendable {
    /// The newest sample of every metric of `device`, served from memory.
    func latest(device: DeviceID) -> [MetricName: Sample]

    /// The newest sample of one series, served from memory.
    func latest(series: SeriesKey) -> Sample?

    /// The series a device has, sorted by metric.
    func series(of device: DeviceID) async throws -> [SeriesInfo]

    /// Raw samples of `key` in `[from, to)`, oldest first, at most `limit` of them.
    ///
    /// Keyset pagination: pass the returned `nextCursor` as `cursor` to get the next page;
    /// `nextCursor` is nil on the last page.
    func rawRange(
        _ key: SeriesKey,
        from: Int64,
        to: Int64,
        limit: Int,
        cursor: Int64?
    ) async throws -> (samples: [Sample], nextCursor: Int64?)

    /// Min, max, sum, count and last of `key` per epoch-aligned `step` bucket in `[from, to)`,
    /// read from the coarsest stored resolution that answers exactly (see
    /// ``AggregateResolution/best(step:from:to:)``). Empty buckets are omitted.
    func aggregate(_ key: SeriesKey, from: Int64, to: Int64, step: Duration) async throws -> [AggregatePoint]

    /// Counters of ingested samples, messages and dead letters since the store was opened.
    func ingestStatistics() -> IngestStatistics
}

/// Where rejected input goes, with its reason ("bad input is rejected, counted and explained").
public protocol DeadLetterStore: Sendable {
    /// Queues a dead letter for the next group commit; `completion` runs once it is durable or
    /// failed. Only the first bytes of `payload` are kept (the store's bound).
    func recordDeadLetter(
        receivedAt: Int64,
        device: DeviceID?,
        topic: String,
        reason: String,
        payload: [UInt8],
        completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    )

    /// Dead letters newest first; pass the last returned `id` as `before` for the next page.
    func deadLetters(limit: Int, before: Int64?) async throws -> [DeadLetter]
}
