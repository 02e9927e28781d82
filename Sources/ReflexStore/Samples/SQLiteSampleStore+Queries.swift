import Foundation
import GRDB
public import ReflexCore
import Synchronization

// MARK: - Queries

extension SQLiteSampleStore {
    /// The newest sample of every metric of `device`, from memory.
    /// - Complexity: O(metrics of the device).
    public func latest(device: DeviceID) -> [MetricName: Sample] {
        catalog.withLock { $0.latest[device] ?? [:] }
    }

    /// Every series the store holds (committed), from memory; ``SeriesAdmission`` starts from it.
    /// - Complexity: O(series).
    public func seriesKeys() -> [SeriesKey] {
        catalog.withLock { Array($0.ids.keys) }
    }

    /// The newest sample of `series`, from memory.
    /// - Complexity: O(1).
    public func latest(series: SeriesKey) -> Sample? {
        catalog.withLock { $0.latest[series.device]?[series.metric] }
    }

    /// The series of `device` sorted by metric, with their oldest and newest timestamps and the
    /// number of samples the hourly rollup counts.
    /// - Complexity: O(metrics × (log N + hours retained)).
    public func series(of device: DeviceID) async throws -> [SeriesInfo] {
        let metrics = catalog.withLock { $0.metrics[device] ?? [:] }.sorted { $0.key < $1.key }
        guard !metrics.isEmpty else { return [] }
        let newest = latest(device: device)
        return try await read("listing the series of device '\(device)'") { db in
            var infos: [SeriesInfo] = []
            for (metric, id) in metrics {
                let rawFirst = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT ts FROM samples WHERE series = ? ORDER BY ts LIMIT 1"),
                    arguments: [id]
                )
                let minuteFirst = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT bucket FROM rollup_1m WHERE series = ? ORDER BY bucket LIMIT 1"),
                    arguments: [id]
                )
                let hourRow = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT min(bucket), sum(count) FROM rollup_1h WHERE series = ?"),
                    arguments: [id]
                )
                let hourFirst: Int64? = hourRow?[0]
                let count: Int64 = hourRow?[1] ?? 0
                let first = SeriesInfo.firstTimestamp(raw: rawFirst, minuteBucket: minuteFirst, hourBucket: hourFirst)
                infos.append(
                    SeriesInfo(
                        key: SeriesKey(device: device, metric: metric),
                        firstTimestamp: first,
                        lastTimestamp: newest[metric]?.timestamp,
                        sampleCount: count
                    )
                )
            }
            return infos
        }
    }

    /// Raw samples of `key` in `[from, to)`, oldest first; keyset pagination on the timestamp.
    /// - Throws: ``SampleStoreError`` `invalidQuery` when `limit < 1`.
    /// - Complexity: O(log N + limit).
    public func rawRange(
        _ key: SeriesKey,
        from: Int64,
        to: Int64,
        limit: Int,
        cursor: Int64?
    ) async throws -> (samples: [Sample], nextCursor: Int64?) {
        guard limit > 0 else {
            throw SampleStoreError(
                code: .invalidQuery,
                message: "raw range of \(key): limit \(limit) must be at least 1"
            )
        }
        var lower = from
        if let cursor {
            guard cursor < Int64.max else { return ([], nil) }
            lower = max(from, cursor + 1)
        }
        guard lower < to, let id = catalog.withLock({ $0.ids[key] }) else { return ([], nil) }
        let metric = key.metric
        let start = lower
        return try await read("reading raw samples of \(key)") { db in
            let statement = try db.cachedStatement(
                sql: "SELECT ts, value FROM samples WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts LIMIT ?4"
            )
            statement.bind(id, at: 1)
            statement.bind(start, at: 2)
            statement.bind(to, at: 3)
            statement.bind(Int64(min(limit, Int(Int32.max))) + 1, at: 4)  // one more: is there a next page?
            var samples: [Sample] = []
            samples.reserveCapacity(min(limit, 1 << 17))
            var hasMore = false
            try statement.forEachRow(in: db) { row in
                guard samples.count < limit else {
                    hasMore = true
                    return
                }
                samples.append(
                    Sample(metric: metric, timestamp: SQLiteColumn.int64(row, 0), value: SQLiteColumn.double(row, 1))
                )
            }
            return (samples, hasMore ? samples.last?.timestamp : nil)
        }
    }

    /// Aggregates of `key` per `step` bucket in `[from, to)` from the coarsest exact resolution.
    /// - Throws: ``SampleStoreError`` `invalidQuery` when `step` is under 1 ms.
    /// - Complexity: O(log N + rows read), where rows are samples, minutes or hours in the range.
    public func aggregate(_ key: SeriesKey, from: Int64, to: Int64, step: Duration) async throws -> [AggregatePoint] {
        let width = TimeBucket.milliseconds(step)
        guard width > 0 else {
            throw SampleStoreError(code: .invalidQuery, message: "aggregate of \(key): step \(step) is under 1 ms")
        }
        guard from < to, let id = catalog.withLock({ $0.ids[key] }) else { return [] }
        let resolution = AggregateResolution.best(step: width, from: from, to: to)
        // Long scans are split at step boundaries and read on several connections at once:
        // the per-row cost is SQLite's, so more cores is what makes a year of minutes fast.
        let boundaries = Self.partition(
            from: from,
            to: to,
            step: width,
            rowWidth: resolution == .raw ? 1000 : resolution.width  // raw: assume 1 Hz
        )
        if boundaries.count > 2 {
            return try await withThrowingTaskGroup(of: (Int, [AggregatePoint]).self) { group in
                for index in 0..<(boundaries.count - 1) {
                    let (low, high) = (boundaries[index], boundaries[index + 1])
                    group.addTask {
                        let points = try await self.aggregateRows(
                            key,
                            id: id,
                            resolution: resolution,
                            from: low,
                            to: high,
                            width: width
                        )
                        return (index, points)
                    }
                }
                var parts = [[AggregatePoint]](repeating: [], count: boundaries.count - 1)
                for try await (index, points) in group { parts[index] = points }
                return parts.flatMap { $0 }
            }
        }
        return try await aggregateRows(key, id: id, resolution: resolution, from: from, to: to, width: width)
    }

    /// Splits `[from, to)` into step-aligned parts when it spans more than ~100,000 stored rows
    /// of `rowWidth` ms each; up to two parts per core (a part per core would leave a core idle
    /// whenever another process holds the other one).
    /// - Returns: the part boundaries, `from` first and `to` last.
    static func partition(from: Int64, to: Int64, step: Int64, rowWidth: Int64) -> [Int64] {
        let parts = min(4, 2 * ProcessInfo.processInfo.activeProcessorCount)
        let (span, overflow) = to.subtractingReportingOverflow(from)
        guard !overflow, parts > 1, span / rowWidth > 100_000 else { return [from, to] }
        var boundaries = [from]
        for part in 1..<parts {
            let cut = TimeBucket.start(of: from + span / Int64(parts) * Int64(part), width: step)
            if let previous = boundaries.last, cut > previous, cut < to { boundaries.append(cut) }
        }
        boundaries.append(to)
        return boundaries
    }

    /// Folds the stored rows of one part into step buckets.
    private func aggregateRows(
        _ key: SeriesKey,
        id: Int64,
        resolution: AggregateResolution,
        from: Int64,
        to: Int64,
        width: Int64
    ) async throws -> [AggregatePoint] {
        try await read("aggregating \(key) by \(width) ms") { db in
            let sql =
                switch resolution {
                case .raw:
                    "SELECT ts, value FROM samples WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts"
                case .minute, .hour:
                    """
                    SELECT bucket, min_value, max_value, sum_value, count, last_value
                    FROM \(resolution == .minute ? "rollup_1m" : "rollup_1h")
                    WHERE series = ?1 AND bucket >= ?2 AND bucket < ?3 ORDER BY bucket
                    """
                }
            let statement = try db.cachedStatement(sql: sql)
            statement.bind(id, at: 1)
            statement.bind(from, at: 2)
            statement.bind(to, at: 3)
            var points: [AggregatePoint] = []
            var current = AggregatePoint(start: .min, min: 0, max: 0, sum: 0, count: 0, last: 0)
            let isRaw = resolution == .raw
            try statement.forEachRow(in: db) { row in
                let timestamp = SQLiteColumn.int64(row, 0)
                let start = TimeBucket.start(of: timestamp, width: width)
                let value = SQLiteColumn.double(row, 1)
                let (low, high, sum, count, last): (Double, Double, Double, Int64, Double) =
                    isRaw
                    ? (value, value, value, 1, value)
                    : (
                        value, SQLiteColumn.double(row, 2), SQLiteColumn.double(row, 3), SQLiteColumn.int64(row, 4),
                        SQLiteColumn.double(row, 5)
                    )
                if start == current.start {
                    if low < current.min { current.min = low }
                    if high > current.max { current.max = high }
                    current.sum += sum
                    current.count += count
                    current.last = last  // rows come in time order
                } else {
                    if current.count > 0 { points.append(current) }
                    current = AggregatePoint(start: start, min: low, max: high, sum: sum, count: count, last: last)
                }
            }
            if current.count > 0 { points.append(current) }
            return points
        }
    }

    /// Dead letters newest first, at most `limit`, with `id < before` when given.
    /// - Complexity: O(log N + limit).
    public func deadLetters(limit: Int, before: Int64?) async throws -> [DeadLetter] {
        guard limit > 0 else {
            throw SampleStoreError(code: .invalidQuery, message: "dead letters: limit \(limit) must be at least 1")
        }
        return try await read("reading dead letters") { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, received_at, device, topic, reason, payload, payload_size FROM dead_letters
                    WHERE id < ? ORDER BY id DESC LIMIT ?
                    """,
                arguments: [before ?? Int64.max, limit]
            )
            return try rows.map { row in
                let device: String? = row[2]
                let payload: Data = row[5]
                return DeadLetter(
                    id: row[0],
                    receivedAt: row[1],
                    device: try device.map { try DeviceID(validating: $0) },
                    topic: row[3],
                    reason: row[4],
                    payload: [UInt8](payload),
                    payloadSize: row[6]
                )
            }
        }
    }

    /// Runs `body` on a read connection, wrapping failures in a ``SampleStoreError`` that says
    /// what was being read.
    func read<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: @escaping @Sendable (Database) throws -> T
    )
        async throws -> T
    {
        do {
            return try await pool.read(body)
        } catch let error as SampleStoreError {
            throw error
        } catch {
            throw SampleStoreError(code: .database, message: "sample store '\(path)': \(what()) failed", cause: error)
        }
    }
}
