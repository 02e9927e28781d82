/// Settings of a ``PostgresSampleStore``; the same knobs as ``SQLiteSampleStoreConfiguration``
/// without the file-specific ones. The defaults make a node work with no configuration file.
///
/// | key | type | default |
/// | --- | --- | --- |
/// | `commitInterval` | `Duration` | 5 ms — the group-commit rhythm |
/// | `immediateCommitSamples` | `Int` | 20,000 — a pending group this large is committed without waiting |
/// | `maxPendingSamples` | `Int` | 1,000,000 — above this, ``PostgresSampleStore/enqueue(_:completion:)`` fails fast |
/// | `retention` | ``SampleRetention`` | raw 7 days, 1 min 90 days, 1 h 5 years, dead letters 30 days |
/// | `deadLetterPayloadLimit` | `Int` | 4,096 bytes of a rejected payload are kept |
/// | `logsCommits` | `Bool` | false — keep the commit log live detection catches up from |
/// | `maxGroupSamples` | `Int` | 50,000 — a transaction takes at most this many samples; the rest follow at once |
/// | `commitTimeout` | `Duration` | 5 s — a group commit not done by then fails its completions (`unavailable`) |
public struct PostgresSampleStoreConfiguration: Sendable {
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
    /// Whether every committed batch is also written to `commit_log`, for live detection to
    /// catch up from. Off, the writer empties the log when it starts; a store opened only to read
    /// (its ``PostgresSampleStore/run()`` never called) leaves it alone.
    public var logsCommits: Bool
    /// The most samples one transaction takes (a heavier single message still goes whole). A
    /// backlog is written as several transactions in a row, each acknowledged at its commit, so
    /// that none approaches ``commitTimeout`` and the first publishers hear back early.
    public var maxGroupSamples: Int
    /// How long one group commit may take, waiting for a connection included. While PostgreSQL
    /// is unreachable the pool queues requests (for up to a minute, until its circuit breaker
    /// trips); past this bound the group fails with `unavailable` instead, so that publishers
    /// hear "not stored" within seconds and the writer moves on to the next group.
    public var commitTimeout: Duration

    /// Creates a configuration with the defaults listed above.
    public init(
        commitInterval: Duration = .milliseconds(5),
        immediateCommitSamples: Int = 20_000,
        maxPendingSamples: Int = 1_000_000,
        retention: SampleRetention = SampleRetention(),
        deadLetterPayloadLimit: Int = 4096,
        logsCommits: Bool = false,
        maxGroupSamples: Int = 50_000,
        commitTimeout: Duration = .seconds(5)
    ) {
        self.commitInterval = commitInterval
        self.immediateCommitSamples = immediateCommitSamples
        self.maxPendingSamples = maxPendingSamples
        self.retention = retention
        self.deadLetterPayloadLimit = deadLetterPayloadLimit
        self.logsCommits = logsCommits
        self.maxGroupSamples = maxGroupSamples
        self.commitTimeout = commitTimeout
    }
}
