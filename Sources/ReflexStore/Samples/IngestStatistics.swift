import Logging

/// Counters of what the store accepted, committed and refused since it was opened.
public struct IngestStatistics: Sendable, Hashable {
    /// Samples committed (a redelivered sample counts again).
    public var samplesCommitted: Int64 = 0
    /// Telemetry batches (messages) committed.
    public var messagesCommitted: Int64 = 0
    /// Dead letters committed.
    public var deadLettersCommitted: Int64 = 0
    /// Group-commit transactions that succeeded.
    public var commits: Int64 = 0
    /// Group-commit transactions that failed (their completions got the error).
    public var failedCommits: Int64 = 0
    /// Messages refused at enqueue: pending list full, store closed or invalid samples.
    public var messagesRejected: Int64 = 0
    /// Samples waiting for the next commit.
    public var pendingSamples: Int = 0
    /// When the last group commit succeeded, and when one last failed (ms since the epoch, the
    /// store's clock); nil: none yet. `/health` judges the store's writability from them.
    public var lastCommitAt: Int64?
    public var lastFailedCommitAt: Int64?

    /// Creates zeroed counters.
    public init() {}
}

/// What one retention pass deleted.
public struct RetentionReport: Sendable, Hashable {
    /// Raw samples deleted.
    public var rawSamples: Int = 0
    /// One-minute rollup rows deleted.
    public var minuteBuckets: Int = 0
    /// One-hour rollup rows deleted.
    public var hourBuckets: Int = 0
    /// Dead letters deleted.
    public var deadLetters: Int = 0

    /// Creates an empty report.
    public init() {}

    /// Logs what was deleted, once per pass that deleted anything.
    /// - Parameters:
    ///   - logger: the store's logger.
    ///   - place: the store's where, as a metadata pair (`store.path` for a file, `store.location`
    ///     for a database URL).
    func log(to logger: Logger, place: (key: String, value: String)) {
        guard self != RetentionReport() else { return }
        logger.info(
            "Applied retention",
            metadata: [
                place.key: "\(place.value)", "retention.raw": "\(rawSamples)",
                "retention.minute": "\(minuteBuckets)", "retention.hour": "\(hourBuckets)",
                "retention.deadLetters": "\(deadLetters)",
            ]
        )
    }
}
