import Logging
import NIOCore
import PostgresNIO
public import ReflexCore
import Synchronization

// MARK: - Queries

extension PostgresSampleStore {
    /// The newest sample of every metric of `device`, from memory.
    /// - Complexity: O(metrics of the device).
    public func latest(device: DeviceID) -> [MetricName: Sample] {
        catalog.withLock { $0.latest[device] ?? [:] }
    }

    /// The newest sample of `series`, from memory.
    /// - Complexity: O(1).
    public func latest(series: SeriesKey) -> Sample? {
        catalog.withLock { $0.latest[series.device]?[series.metric] }
    }

    /// Every series the store holds (committed), from memory; ``SeriesAdmission`` starts from it.
    /// - Complexity: O(series).
    public func seriesKeys() -> [SeriesKey] {
        catalog.withLock { Array($0.ids.keys) }
    }

    /// The series of `device` sorted by metric, with their oldest and newest timestamps and the
    /// number of samples the hourly rollup counts; one statement for all of them.
    public func series(of device: DeviceID) async throws -> [SeriesInfo] {
        let metrics = catalog.withLock { $0.metrics[device] ?? [:] }.sorted { $0.key < $1.key }
        guard !metrics.isEmpty else { return [] }
        let newest = latest(device: device)
        let ids = metrics.map(\.value)
        let found = try await access("listing the series of device '\(device)'") {
            let rows = try await database.query(
                """
                SELECT i.id,
                    (SELECT ts FROM samples WHERE series = i.id ORDER BY ts LIMIT 1),
                    (SELECT bucket FROM rollup_1m WHERE series = i.id ORDER BY bucket LIMIT 1),
                    (SELECT min(bucket) FROM rollup_1h WHERE series = i.id),
                    (SELECT coalesce(sum(count), 0)::bigint FROM rollup_1h WHERE series = i.id)
                FROM unnest(\(ids)::bigint[]) AS i(id)
                """
            )
            var found: [Int64: (raw: Int64?, minute: Int64?, hour: Int64?, count: Int64)] = [:]
            for try await (id, raw, minute, hour, count) in rows.decode((Int64, Int64?, Int64?, Int64?, Int64).self) {
                found[id] = (raw, minute, hour, count)
            }
            return found
        }
        return metrics.map { metric, id in
            let row = found[id]
            return SeriesInfo(
                key: SeriesKey(device: device, metric: metric),
                firstTimestamp: SeriesInfo.firstTimestamp(
                    raw: row?.raw,
                    minuteBucket: row?.minute,
                    hourBucket: row?.hour
                ),
                lastTimestamp: newest[metric]?.timestamp,
                sampleCount: row?.count ?? 0
            )
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
        let fetch = Int64(min(limit, Int(Int32.max))) + 1  // one more: is there a next page?
        let start = lower
        return try await access("reading raw samples of \(key)") {
            // The page comes back as two arrays in one row: decoding 86,400 rows one by one
            // cost the client about 100 ms, two binary arrays a few.
            let rows = try await database.query(
                """
                SELECT array_agg(ts ORDER BY ts), array_agg(value ORDER BY ts) FROM (
                    SELECT ts, value FROM samples WHERE series = \(id) AND ts >= \(start) AND ts < \(to)
                    ORDER BY ts LIMIT \(fetch)
                ) AS page
                """
            )
            var timestamps: [Int64] = []
            var values: [Double] = []
            for try await (ts, value) in rows.decode(([Int64]?, [Double]?).self) {
                timestamps = ts ?? []
                values = value ?? []
            }
            guard timestamps.count == values.count else {
                throw SampleStoreError(code: .database, message: "raw range of \(key): the columns differ in length")
            }
            let count = min(limit, timestamps.count)
            var samples: [Sample] = []
            samples.reserveCapacity(count)
            for index in 0..<count {
                samples.append(Sample(metric: metric, timestamp: timestamps[index], value: values[index]))
            }
            return (samples, timestamps.count > limit ? samples.last?.timestamp : nil)
        }
    }

    /// Aggregates of `key` per `step` bucket in `[from, to)` from the coarsest exact resolution
    /// (``AggregateResolution/best(step:from:to:)``), folded by PostgreSQL.
    /// - Throws: ``SampleStoreError`` `invalidQuery` when `step` is under 1 ms.
    public func aggregate(_ key: SeriesKey, from: Int64, to: Int64, step: Duration) async throws -> [AggregatePoint] {
        let width = TimeBucket.milliseconds(step)
        guard width > 0 else {
            throw SampleStoreError(code: .invalidQuery, message: "aggregate of \(key): step \(step) is under 1 ms")
        }
        guard from < to, let id = catalog.withLock({ $0.ids[key] }) else { return [] }
        let resolution = AggregateResolution.best(step: width, from: from, to: to)
        let query: PostgresQuery
        switch resolution {
        case .raw:
            query = """
                SELECT ts - ((ts % \(width)) + \(width)) % \(width) AS b, min(value), max(value), sum(value),
                    count(*), (array_agg(value ORDER BY ts DESC))[1]
                FROM samples WHERE series = \(id) AND ts >= \(from) AND ts < \(to)
                GROUP BY b ORDER BY b
                """
        case .minute, .hour:
            let table = resolution == .minute ? "rollup_1m" : "rollup_1h"
            query = """
                SELECT bucket - ((bucket % \(width)) + \(width)) % \(width) AS b, min(min_value), max(max_value),
                    sum(sum_value), sum(count)::bigint, (array_agg(last_value ORDER BY bucket DESC))[1]
                FROM \(unescaped: table) WHERE series = \(id) AND bucket >= \(from) AND bucket < \(to)
                GROUP BY b ORDER BY b
                """
        }
        return try await access("aggregating \(key) by \(width) ms") {
            var points: [AggregatePoint] = []
            let rows = try await database.query(query)
            for try await (start, low, high, sum, count, last) in rows.decode(
                (Int64, Double, Double, Double, Int64, Double).self
            ) where count > 0 {
                points.append(AggregatePoint(start: start, min: low, max: high, sum: sum, count: count, last: last))
            }
            return points
        }
    }

    /// Dead letters newest first, at most `limit`, with `id < before` when given.
    /// - Complexity: O(log N + limit).
    public func deadLetters(limit: Int, before: Int64?) async throws -> [DeadLetter] {
        guard limit > 0 else {
            throw SampleStoreError(code: .invalidQuery, message: "dead letters: limit \(limit) must be at least 1")
        }
        let upper = before ?? Int64.max
        let count = Int64(limit)
        return try await access("reading dead letters") {
            let rows = try await database.query(
                """
                SELECT id, received_at, device, topic, reason, payload, payload_size FROM dead_letters
                WHERE id < \(upper) ORDER BY id DESC LIMIT \(count)
                """
            )
            var letters: [DeadLetter] = []
            for try await (id, receivedAt, device, topic, reason, payload, size) in rows.decode(
                (Int64, Int64, String?, String, String, ByteBuffer, Int64).self
            ) {
                letters.append(
                    DeadLetter(
                        id: id,
                        receivedAt: receivedAt,
                        device: try device.map { try DeviceID(validating: $0) },
                        topic: topic,
                        reason: reason,
                        payload: Array(payload.readableBytesView),
                        payloadSize: Int(size)
                    )
                )
            }
            return letters
        }
    }

    /// Reads the catalog and each series' newest sample (raw, else the newest rollup bucket).
    static func loadCatalog(_ database: PostgresDatabase) async throws -> SeriesCatalog {
        var catalog = SeriesCatalog()
        let rows = try await database.query(
            """
            SELECT s.id, s.device, s.metric,
                coalesce(r.ts, m.last_ts, h.last_ts), coalesce(r.value, m.last_value, h.last_value)
            FROM series AS s
            LEFT JOIN LATERAL (SELECT ts, value FROM samples WHERE series = s.id ORDER BY ts DESC LIMIT 1) AS r ON true
            LEFT JOIN LATERAL (
                SELECT last_ts, last_value FROM rollup_1m WHERE series = s.id ORDER BY bucket DESC LIMIT 1
            ) AS m ON true
            LEFT JOIN LATERAL (
                SELECT last_ts, last_value FROM rollup_1h WHERE series = s.id ORDER BY bucket DESC LIMIT 1
            ) AS h ON true
            """
        )
        var newest: [(Int64, Int64, Double)] = []
        for try await (id, device, metric, timestamp, value) in rows.decode(
            (Int64, String, String, Int64?, Double?).self
        ) {
            let key = SeriesKey(device: try DeviceID(validating: device), metric: try MetricName(validating: metric))
            catalog.add(key, id: id)
            if let timestamp, let value { newest.append((id, timestamp, value)) }
        }
        for (id, timestamp, value) in newest { catalog.observe(series: id, timestamp: timestamp, value: value) }
        return catalog
    }
}
