import GRDB
import Logging
import Synchronization

// MARK: - Retention

extension SQLiteSampleStore {
    /// Deletes what is older than each resolution's horizon in ``SQLiteSampleStoreConfiguration/retention``,
    /// in transactions of at most ``SampleRetention/batchSize`` rows so the group-commit writer
    /// waits for one small batch at most.
    ///
    /// Horizons are `now - retention` rounded down to a whole hour, so raw samples go in whole
    /// hours: a rollup bucket that still has raw samples has all of them, which keeps the
    /// writer's recomputation of a bucket from raw exact.
    /// - Parameter now: the wall-clock time in ms since the epoch (injected for tests).
    /// - Returns: what was deleted.
    /// - Complexity: O(series × (log N + deleted / batchSize transactions)).
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
        let batchSize = max(1, retention.batchSize)
        let deadLetterHorizon = now - TimeBucket.milliseconds(retention.deadLetters)
        while true {
            let deleted = try await write("deleting dead letters before \(deadLetterHorizon)") { db in
                try db.execute(
                    sql: """
                        DELETE FROM dead_letters WHERE id IN
                            (SELECT id FROM dead_letters WHERE received_at < ? ORDER BY received_at LIMIT ?)
                        """,
                    arguments: [deadLetterHorizon, batchSize]
                )
                return db.changesCount
            }
            report.deadLetters += deleted
            if deleted < batchSize { break }
        }
        report.log(to: logger, place: ("store.path", path))
        return report
    }

    /// Deletes rows of `table` with `column < horizon`, series by series, using the primary key
    /// (series, column) so each step is an index range, never a table scan.
    private func deleteOlder(table: String, column: String, than horizon: Int64) async throws -> Int {
        let ids = catalog.withLock { $0.keys.keys.sorted() }
        let batchSize = max(1, configuration.retention.batchSize)
        var total = 0
        var index = 0
        while index < ids.count {
            let start = index
            let (deleted, next) = try await write("deleting from \(table) before \(horizon)") { db in
                var budget = batchSize
                var deleted = 0
                var position = start
                let cutoffStatement = try db.cachedStatement(
                    sql:
                        "SELECT \(column) FROM \(table) WHERE series = ?1 AND \(column) < ?2 ORDER BY \(column) LIMIT 1 OFFSET ?3"
                )
                let deleteStatement = try db.cachedStatement(
                    sql: "DELETE FROM \(table) WHERE series = ?1 AND \(column) < ?2"
                )
                while position < ids.count {
                    let id = ids[position]
                    // The (budget+1)-th oldest row: delete strictly before it, or everything
                    // before the horizon when fewer rows remain.
                    cutoffStatement.bind(id, at: 1)
                    cutoffStatement.bind(horizon, at: 2)
                    cutoffStatement.bind(Int64(budget), at: 3)
                    var cutoff: Int64?
                    try cutoffStatement.forEachRow(in: db) { row in cutoff = SQLiteColumn.int64(row, 0) }
                    deleteStatement.bind(id, at: 1)
                    deleteStatement.bind(cutoff ?? horizon, at: 2)
                    try deleteStatement.run(in: db)
                    let changes = db.changesCount
                    deleted += changes
                    budget -= changes
                    if cutoff != nil { return (deleted, position) }  // more of this series next time
                    position += 1
                    if budget <= 0 { break }
                }
                return (deleted, position)
            }
            total += deleted
            index = next
        }
        return total
    }

    private func write<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: @escaping @Sendable (Database) throws -> T
    )
        async throws -> T
    {
        do {
            return try await pool.write(body)
        } catch {
            throw SampleStoreError(code: .database, message: "sample store '\(path)': \(what()) failed", cause: error)
        }
    }
}
