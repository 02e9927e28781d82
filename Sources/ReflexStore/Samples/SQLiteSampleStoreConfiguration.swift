/// Settings of a ``SQLiteSampleStore``. The defaults make a node work with no configuration file.
///
/// | key | type | default |
/// | --- | --- | --- |
/// | `directory` | path | (required) — the database is `<directory>/samples.sqlite` |
/// | `commitInterval` | `Duration` | 5 ms — the group-commit rhythm |
/// | `immediateCommitSamples` | `Int` | 20,000 — a pending group this large is committed without waiting |
/// | `maxPendingSamples` | `Int` | 1,000,000 — above this, ``SQLiteSampleStore/enqueue(_:completion:)`` fails fast |
/// | `retention` | ``SampleRetention`` | raw 7 days, 1 min 90 days, 1 h 5 years, dead letters 30 days |
/// | `deadLetterPayloadLimit` | `Int` | 4,096 bytes of a rejected payload are kept |
/// | `maximumReaderCount` | `Int` | 4 concurrent read connections |
/// | `logsCommits` | `Bool` | false — keep the commit log live detection catches up from |
public struct SQLiteSampleStoreConfiguration: Sendable {
    /// The folder that holds `samples.sqlite` (and its `-wal` and `-shm` files); created if missing.
    public var directory: String
    /// How long the writer gathers enqueued batches before it commits them in one transaction.
    public var commitInterval: Duration
    /// A pending group of at least this many samples is committed at once, without waiting.
    public var immediateCommitSamples: Int
    /// The bound of the in-memory pending list, in samples (a dead letter counts as one).
    public var maxPendingSamples: Int
    /// How long each resolution is kept.
    public var retention: SampleRetention
    /// How many leading bytes of a dead letter's payload are stored.
    public var deadLetterPayloadLimit: Int
    /// The number of read-only connections serving queries concurrently with the writer.
    public var maximumReaderCount: Int
    /// Whether every committed batch is also written to the commit log (`commit_log`), for live
    /// detection to catch up from; the node turns it on with detection. Off, the writer empties
    /// the log when it starts; a store opened only to read (`reflex query`) leaves it alone.
    public var logsCommits: Bool

    /// Creates a configuration with the defaults listed above.
    public init(
        directory: String,
        commitInterval: Duration = .milliseconds(5),
        immediateCommitSamples: Int = 20_000,
        maxPendingSamples: Int = 1_000_000,
        retention: SampleRetention = SampleRetention(),
        deadLetterPayloadLimit: Int = 4096,
        maximumReaderCount: Int = 4,
        logsCommits: Bool = false
    ) {
        self.directory = directory
        self.commitInterval = commitInterval
        self.immediateCommitSamples = immediateCommitSamples
        self.maxPendingSamples = maxPendingSamples
        self.retention = retention
        self.deadLetterPayloadLimit = deadLetterPayloadLimit
        self.maximumReaderCount = maximumReaderCount
        self.logsCommits = logsCommits
    }
}

/// How long samples are kept at each resolution, and how retention deletes them.
public struct SampleRetention: Sendable, Hashable {
    /// Raw samples older than this are deleted (default 7 days).
    public var raw: Duration
    /// One-minute rollups older than this are deleted (default 90 days).
    public var minute: Duration
    /// One-hour rollups older than this are deleted (default 5 × 365 days).
    public var hour: Duration
    /// Dead letters older than this are deleted (default 30 days).
    public var deadLetters: Duration
    /// Rows deleted per transaction, so that the sample writer is never blocked for long.
    public var batchSize: Int

    /// Creates a retention policy; the defaults are listed on each property.
    public init(
        raw: Duration = .seconds(7 * 86_400),
        minute: Duration = .seconds(90 * 86_400),
        hour: Duration = .seconds(5 * 365 * 86_400),
        deadLetters: Duration = .seconds(30 * 86_400),
        batchSize: Int = 5_000
    ) {
        self.raw = raw
        self.minute = minute
        self.hour = hour
        self.deadLetters = deadLetters
        self.batchSize = batchSize
    }
}
