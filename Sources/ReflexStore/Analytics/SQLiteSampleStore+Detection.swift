public import Foundation
import GRDB
public import ReflexCore
import Synchronization

extension SQLiteSampleStore: DetectionStore {
    public func loadDetectorCheckpoints() async throws -> [SeriesKey: Data] {
        try await detectionAccess("reading detector checkpoints") { pool in
            try await pool.read { db in
                var states: [SeriesKey: Data] = [:]
                let rows = try Row.fetchCursor(db, sql: "SELECT device, metric, state FROM detector_checkpoints")
                while let row = try rows.next() {
                    let device: String = row[0]
                    let metric: String = row[1]
                    // A row with an id that no longer validates is skipped, not fatal.
                    guard let id = try? DeviceID(validating: device), let name = try? MetricName(validating: metric)
                    else { continue }
                    states[SeriesKey(device: id, metric: name)] = row[2]
                }
                return states
            }
        }
    }

    public func loadDetectionCursor() async throws -> Int64? {
        try await detectionAccess("reading the detection cursor") { pool in
            try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT seq FROM detection_cursor WHERE id = 1") }
        }
    }

    public func saveDetectorCheckpoints(_ states: [SeriesKey: Data], cursor: Int64?, at timestamp: Int64) async throws {
        guard !states.isEmpty || cursor != nil else { return }
        try await detectionAccess("saving \(states.count) detector checkpoints") { pool in
            try await pool.write { db in
                if let cursor {
                    try db.execute(
                        sql: """
                            INSERT INTO detection_cursor (id, seq, updated_at) VALUES (1, ?, ?)
                            ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
                            """,
                        arguments: [cursor, timestamp]
                    )
                }
                let statement = try db.cachedStatement(
                    sql: """
                        INSERT INTO detector_checkpoints (device, metric, state, updated_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (device, metric) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                        """
                )
                for (key, state) in states {
                    try statement.execute(arguments: [key.device.rawValue, key.metric.rawValue, state, timestamp])
                }
            }
        }
    }

    public func appendAnomalyPoints(_ points: [(series: SeriesKey, point: AnomalyPoint)]) async throws {
        guard !points.isEmpty else { return }
        let ids = catalog.withLock { $0.ids }
        let rows = points.compactMap { entry in ids[entry.series].map { (id: $0, point: entry.point) } }
        // Short transactions, so the group-commit writer (which shares the one write connection)
        // never waits long behind a big band write; and no fsync for them: band rows are derived
        // data, and losing the last second of them in a power cut is acceptable, while an fsync
        // per band transaction would compete with the telemetry commits that must be durable.
        var start = 0
        while start < rows.count {
            let chunk = Array(rows[start..<min(start + Self.anomalyPointChunk, rows.count)])
            start += chunk.count
            try await detectionAccess("storing \(chunk.count) anomaly band rows") { pool in
                try await pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = OFF")
                    defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
                    try db.inTransaction {
                        let statement = try db.cachedStatement(
                            sql: """
                                INSERT OR REPLACE INTO anomaly_bands (series, ts, value, score, expected, lower, upper)
                                VALUES (?, ?, ?, ?, ?, ?, ?)
                                """
                        )
                        for row in chunk {
                            let point = row.point
                            try statement.execute(arguments: [
                                row.id, point.timestamp, point.value, point.score, point.expected, point.lower,
                                point.upper,
                            ])
                        }
                        return .commit
                    }
                }
            }
        }
    }

    /// Band rows per transaction.
    static let anomalyPointChunk = 2_000

    public func anomalyPoints(_ key: SeriesKey, from: Int64, to: Int64, limit: Int) async throws -> [AnomalyPoint] {
        guard from < to, limit > 0, let id = catalog.withLock({ $0.ids[key] }) else { return [] }
        return try await detectionAccess("reading the anomaly band of \(key)") { pool in
            try await pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT ts, value, score, expected, lower, upper FROM anomaly_bands
                        WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?
                        """,
                    arguments: [id, from, to, limit]
                ).map { row in
                    AnomalyPoint(
                        timestamp: row[0],
                        value: row[1],
                        score: row[2],
                        expected: row[3],
                        lower: row[4],
                        upper: row[5]
                    )
                }
            }
        }
    }

    public func anomalyBuckets(_ key: SeriesKey, from: Int64, to: Int64, step: Int64) async throws -> [AnomalyPoint] {
        guard from < to, step > 0, let id = catalog.withLock({ $0.ids[key] }) else { return [] }
        return try await detectionAccess("summarising the anomaly band of \(key)") { pool in
            try await pool.read { db in
                // Floor division that is also right for negative timestamps; the bucket's last
                // value is read back by its newest timestamp.
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT g.bucket, g.max_score, g.mean_expected, g.min_lower, g.max_upper, g.n, s.value
                        FROM (
                            SELECT (ts - ((ts % ?1) + ?1) % ?1) AS bucket, max(score) AS max_score,
                                   avg(expected) AS mean_expected, min(lower) AS min_lower, max(upper) AS max_upper,
                                   count(*) AS n, max(ts) AS last_ts
                            FROM anomaly_bands
                            WHERE series = ?2 AND ts >= ?3 AND ts < ?4
                            GROUP BY bucket
                        ) AS g
                        JOIN anomaly_bands AS s ON s.series = ?2 AND s.ts = g.last_ts
                        ORDER BY g.bucket
                        """,
                    arguments: [step, id, from, to]
                ).map { row in
                    AnomalyPoint(
                        timestamp: row[0],
                        value: row[6] ?? 0,
                        score: row[1],
                        expected: row[2],
                        lower: row[3],
                        upper: row[4],
                        count: row[5]
                    )
                }
            }
        }
    }

    public func pruneAnomalyPoints(now: Int64) async throws -> Int {
        let horizon = now - TimeBucket.milliseconds(configuration.retention.raw)
        let ids = catalog.withLock { $0.keys.keys.sorted() }
        var total = 0
        // One short transaction per series, each an index range of the primary key (series, ts):
        // the group-commit writer never waits long.
        for id in ids {
            total += try await detectionAccess("pruning anomaly band rows before \(horizon)") { pool in
                try await pool.write { db in
                    try db.execute(
                        sql: "DELETE FROM anomaly_bands WHERE series = ? AND ts < ?",
                        arguments: [id, horizon]
                    )
                    return db.changesCount
                }
            }
        }
        return total
    }

    private func detectionAccess<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: (DatabasePool) async throws -> T
    ) async throws -> T {
        do {
            return try await body(pool)
        } catch {
            throw SampleStoreError(code: .database, message: "sample store '\(path)': \(what()) failed", cause: error)
        }
    }
}
