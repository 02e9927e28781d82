public import Foundation
import NIOCore
import PostgresNIO
public import ReflexCore
import Synchronization

extension PostgresSampleStore: DetectionStore {
    public func loadDetectorCheckpoints() async throws -> [SeriesKey: Data] {
        try await access("reading detector checkpoints") {
            let rows = try await database.query("SELECT device, metric, state FROM detector_checkpoints")
            var states: [SeriesKey: Data] = [:]
            for try await (device, metric, state) in rows.decode((String, String, ByteBuffer).self) {
                // A row with an id that no longer validates is skipped, not fatal.
                guard let id = try? DeviceID(validating: device), let name = try? MetricName(validating: metric)
                else { continue }
                states[SeriesKey(device: id, metric: name)] = Data(state.readableBytesView)
            }
            return states
        }
    }

    public func loadDetectionCursor() async throws -> Int64? {
        try await access("reading the detection cursor") {
            for try await seq in try await database.query("SELECT seq FROM detection_cursor WHERE id = 1")
                .decode(Int64.self)
            {
                return seq
            }
            return nil
        }
    }

    public func saveDetectorCheckpoints(_ states: [SeriesKey: Data], cursor: Int64?, at timestamp: Int64) async throws {
        guard !states.isEmpty || cursor != nil else { return }
        let entries = Array(states)
        let devices = entries.map(\.key.device.rawValue)
        let metrics = entries.map(\.key.metric.rawValue)
        let blobs = entries.map { ByteBuffer(bytes: $0.value) }
        try await access("saving \(states.count) detector checkpoints") {
            try await database.transaction { connection in
                if let cursor {
                    try await connection.query(
                        """
                        INSERT INTO detection_cursor (id, seq, updated_at) VALUES (1, \(cursor), \(timestamp))
                        ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
                        """,
                        logger: logger
                    )
                }
                if !devices.isEmpty {
                    try await connection.query(
                        """
                        INSERT INTO detector_checkpoints (device, metric, state, updated_at)
                        SELECT d, m, s, \(timestamp) FROM unnest(\(devices)::text[], \(metrics)::text[], \(blobs)::bytea[])
                            AS t(d, m, s)
                        ON CONFLICT (device, metric) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                        """,
                        logger: logger
                    )
                }
            }
        }
    }

    /// Stores band rows of scored samples: one statement per chunk of ``anomalyPointChunk``
    /// rows (a plain insert, or an upsert when a row exists already: plain inserts cost
    /// PostgreSQL about half); a row at an existing (series, timestamp) replaces it, and of rows
    /// repeated in one call the last wins. Rows of series the store does not know are skipped.
    public func appendAnomalyPoints(_ points: [(series: SeriesKey, point: AnomalyPoint)]) async throws {
        guard !points.isEmpty else { return }
        let ids = catalog.withLock { $0.ids }
        var positions: [BandKey: Int] = [:]
        var rows: [(id: Int64, point: AnomalyPoint)] = []
        for entry in points {
            guard let id = ids[entry.series] else { continue }
            let key = BandKey(series: id, timestamp: entry.point.timestamp)
            if let existing = positions[key] {
                rows[existing].point = entry.point
            } else {
                positions[key] = rows.count
                rows.append((id, entry.point))
            }
        }
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + Self.anomalyPointChunk, rows.count)]
            start += chunk.count
            // Absent band edges travel as NaN (arrays of optionals do not bind) and are stored
            // as NULL, which is also what SQLite makes of a NaN.
            let series = chunk.map(\.id)
            let timestamps = chunk.map(\.point.timestamp)
            let values = chunk.map(\.point.value)
            let scores = chunk.map(\.point.score)
            let expected = chunk.map { $0.point.expected ?? .nan }
            let lower = chunk.map { $0.point.lower ?? .nan }
            let upper = chunk.map { $0.point.upper ?? .nan }
            func insert(_ conflict: String) -> PostgresQuery {
                """
                INSERT INTO anomaly_bands AS a (series, ts, value, score, expected, lower, upper)
                SELECT s, t, v, c, NULLIF(e, 'NaN'), NULLIF(l, 'NaN'), NULLIF(u, 'NaN')
                FROM unnest(\(series)::bigint[], \(timestamps)::bigint[], \(values)::float8[], \(scores)::float8[],
                    \(expected)::float8[], \(lower)::float8[], \(upper)::float8[]) AS i(s, t, v, c, e, l, u)
                \(unescaped: conflict)
                """
            }
            try await access("storing \(chunk.count) anomaly band rows") {
                // Rows are new unless a sample is scored again (after a restart from an older
                // checkpoint): a plain insert first (its own transaction), the upsert only when
                // the key refuses it.
                do {
                    _ = try await database.query(insert(""))
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                    let replace = """
                        ON CONFLICT (series, ts) DO UPDATE SET value = excluded.value, score = excluded.score,
                            expected = excluded.expected, lower = excluded.lower, upper = excluded.upper
                        """
                    _ = try await database.query(insert(replace))
                }
            }
        }
    }

    /// Band rows per statement.
    static var anomalyPointChunk: Int { 5_000 }

    public func anomalyPoints(_ key: SeriesKey, from: Int64, to: Int64, limit: Int) async throws -> [AnomalyPoint] {
        guard from < to, limit > 0, let id = catalog.withLock({ $0.ids[key] }) else { return [] }
        let count = Int64(limit)
        return try await access("reading the anomaly band of \(key)") {
            let rows = try await database.query(
                """
                SELECT ts, value, score, expected, lower, upper FROM anomaly_bands
                WHERE series = \(id) AND ts >= \(from) AND ts < \(to) ORDER BY ts LIMIT \(count)
                """
            )
            var points: [AnomalyPoint] = []
            for try await (timestamp, value, score, expected, lower, upper) in rows.decode(
                (Int64, Double, Double, Double?, Double?, Double?).self
            ) {
                points.append(
                    AnomalyPoint(
                        timestamp: timestamp,
                        value: value,
                        score: score,
                        expected: expected,
                        lower: lower,
                        upper: upper
                    )
                )
            }
            return points
        }
    }

    public func anomalyBuckets(_ key: SeriesKey, from: Int64, to: Int64, step: Int64) async throws -> [AnomalyPoint] {
        guard from < to, step > 0, let id = catalog.withLock({ $0.ids[key] }) else { return [] }
        return try await access("summarising the anomaly band of \(key)") {
            // Floor division that is also right for negative timestamps; the bucket's last value
            // is the value at its newest timestamp.
            let rows = try await database.query(
                """
                SELECT ts - ((ts % \(step)) + \(step)) % \(step) AS b, max(score), avg(expected), min(lower), max(upper),
                    count(*), (array_agg(value ORDER BY ts DESC))[1]
                FROM anomaly_bands WHERE series = \(id) AND ts >= \(from) AND ts < \(to)
                GROUP BY b ORDER BY b
                """
            )
            var points: [AnomalyPoint] = []
            for try await (start, score, expected, lower, upper, count, value) in rows.decode(
                (Int64, Double, Double?, Double?, Double?, Int64, Double).self
            ) {
                points.append(
                    AnomalyPoint(
                        timestamp: start,
                        value: value,
                        score: score,
                        expected: expected,
                        lower: lower,
                        upper: upper,
                        count: Int(count)
                    )
                )
            }
            return points
        }
    }

    public func pruneAnomalyPoints(now: Int64) async throws -> Int {
        let horizon = now - TimeBucket.milliseconds(configuration.retention.raw)
        let ids = catalog.withLock { $0.keys.keys.sorted() }
        var total = 0
        // One short statement per series, each an index range of the primary key (series, ts).
        for id in ids {
            total += try await access("pruning anomaly band rows before \(horizon)") {
                try await deletedCount(
                    """
                    WITH d AS (DELETE FROM anomaly_bands WHERE series = \(id) AND ts < \(horizon) RETURNING 1)
                    SELECT count(*) FROM d
                    """
                )
            }
        }
        return total
    }
}

/// A band row's place: (series id, timestamp).
private struct BandKey: Hashable {
    var series: Int64
    var timestamp: Int64
}
