import Logging
import PostgresNIO
import Synchronization

// MARK: - Retention

extension PostgresSampleStore: SampleMaintenance {
    /// Deletes what is older than each resolution's horizon in ``PostgresSampleStoreConfiguration/retention``,
    /// with the rules of ``SQLiteSampleStore/applyRetention(now:)``: horizons are `now - retention`
    /// rounded down to a whole hour (raw samples go in whole hours, which keeps the writer's
    /// recomputation of a bucket exact), and each statement deletes at most
    /// ``SampleRetention/batchSize`` rows of one series through the primary key (series, time),
    /// an index range, so no statement holds locks for long.
    /// - Parameter now: the wall-clock time in ms since the epoch (from the node's clock).
    /// - Returns: what was deleted.
    @discardableResult
    public func applyRetention(now: Int64) async throws -> RetentionReport {
        let retention = configuration.retention
        func horizon(_ keep: Duration) -> Int64 {
            TimeBucket.start(of: now - TimeBucket.milliseconds(keep), width: TimeBucket.hour)
        }
        var report = RetentionReport()
        report.rawSamples = try await deleteOlder(table: "samples", column: "ts", than: horizon(retention.raw))
        report.minuteBuckets = try await deleteOlder(
            table: "rollup_1m",
            column: "bucket",
            than: horizon(retention.minute)
        )
        report.hourBuckets = try await deleteOlder(table: "rollup_1h", column: "bucket", than: horizon(retention.hour))
        let batchSize = Int64(max(1, retention.batchSize))
        let deadLetterHorizon = now - TimeBucket.milliseconds(retention.deadLetters)
        while true {
            let deleted = try await access("deleting dead letters before \(deadLetterHorizon)") {
                try await deletedCount(
                    """
                    WITH d AS (
                        DELETE FROM dead_letters WHERE id IN (
                            SELECT id FROM dead_letters WHERE received_at < \(deadLetterHorizon)
                            ORDER BY received_at LIMIT \(batchSize)
                        ) RETURNING 1
                    ) SELECT count(*) FROM d
                    """
                )
            }
            report.deadLetters += deleted
            if Int64(deleted) < batchSize { break }
        }
        report.log(to: logger, place: ("store.location", location))
        return report
    }

    /// Deletes rows of `table` with `column < horizon`, series by series, at most a batch per
    /// statement.
    private func deleteOlder(table: String, column: String, than horizon: Int64) async throws -> Int {
        let ids = catalog.withLock { $0.keys.keys.sorted() }
        let batchSize = Int64(max(1, configuration.retention.batchSize))
        var total = 0
        for id in ids {
            while true {
                let deleted = try await access("deleting from \(table) before \(horizon)") {
                    try await deletedCount(
                        """
                        WITH d AS (
                            DELETE FROM \(unescaped: table) WHERE series = \(id) AND \(unescaped: column) IN (
                                SELECT \(unescaped: column) FROM \(unescaped: table)
                                WHERE series = \(id) AND \(unescaped: column) < \(horizon)
                                ORDER BY \(unescaped: column) LIMIT \(batchSize)
                            ) RETURNING 1
                        ) SELECT count(*) FROM d
                        """
                    )
                }
                total += deleted
                if Int64(deleted) < batchSize { break }
            }
        }
        return total
    }
}
