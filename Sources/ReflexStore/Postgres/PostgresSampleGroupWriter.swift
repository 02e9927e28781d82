import Logging
import NIOCore
import PostgresNIO
import ReflexCore

/// Writes one group of pending work inside the caller's transaction, in a handful of statements
/// whatever the group's size: the PostgreSQL counterpart of ``SampleGroupWriter``, with its
/// rollup rules.
///
/// 1. Series the catalog does not know are inserted in one statement (`unnest` of two arrays).
/// 2. The group's samples are bound as three arrays (series, ts, value; a sample repeated within
///    the group keeps its last value, as successive writes would). The common case, all of them
///    new, is written by one plain `INSERT` (behind a savepoint) whose statement also upserts the
///    minute and hour rollups, folded here in Swift from the group: plain inserts cost PostgreSQL
///    about half of what `ON CONFLICT` (speculative insertion) costs.
/// 3. When a sample already exists (a redelivery: the primary key refuses the plain insert), the
///    savepoint is rolled back and the group is inserted with `ON CONFLICT DO NOTHING` instead;
///    that statement folds only the rows it really inserted into the rollups (`RETURNING` feeds
///    the upserts), so a redelivered sample is stored once and counted once. Then one `UPDATE`
///    overwrites values that differ; their minute and hour buckets are recomputed from raw
///    samples, which is exact because retention deletes raw samples in whole hours.
/// 4. Dead letters are inserted one by one (rare), in enqueue order.
/// 5. With `logsCommits`, the batches get the next sequence numbers from `commit_log_head`
///    (its row lock also orders concurrent writers) and are inserted in one statement.
///
/// - Complexity: O(n) in Swift for n samples; O(n log N) in PostgreSQL, in 3–8 round trips.
struct PostgresSampleGroupWriter: Sendable {
    struct Outcome: Sendable {
        var samples = 0
        var messages = 0
        var deadLetters = 0
        var newSeries: [(key: SeriesKey, id: Int64)] = []
        var newest: [Int64: (timestamp: Int64, value: Double)] = [:]
        /// The batches appended to the commit log, in enqueue order.
        var logged: [CommittedBatch] = []
    }

    private struct SampleKey: Hashable {
        var series: Int64
        var timestamp: Int64
    }

    let knownSeries: [SeriesKey: Int64]
    /// Whether batches are appended to `commit_log`.
    var logsCommits = false
    /// The commit time written to the log, ms since the epoch.
    var committedAt: Int64 = 0

    init(knownSeries: [SeriesKey: Int64]) {
        self.knownSeries = knownSeries
    }

    func write(_ items: [PendingItem], on connection: PostgresConnection, logger: Logger) async throws -> Outcome {
        var outcome = Outcome()
        var ids = knownSeries
        var missing: [SeriesKey] = []
        for item in items {
            guard case .batch(let batch) = item.work else { continue }
            for sample in batch.samples {
                let key = SeriesKey(device: batch.device, metric: sample.metric)
                if ids[key] == nil {
                    ids[key] = -1  // placeholder until inserted
                    missing.append(key)
                }
            }
        }
        if !missing.isEmpty {
            let created = try await insertSeries(missing, on: connection, logger: logger)
            for (key, id) in created {
                ids[key] = id
                outcome.newSeries.append((key, id))
            }
        }

        var positions: [SampleKey: Int] = [:]
        var seriesColumn: [Int64] = []
        var timestampColumn: [Int64] = []
        var valueColumn: [Double] = []
        var logged: [TelemetryBatch] = []
        var deadLetters: [DeadLetterDraft] = []
        for item in items {
            switch item.work {
            case .batch(let batch):
                outcome.messages += 1
                outcome.samples += batch.samples.count
                if logsCommits, let entry = CommitLogCodec.loggable(batch) { logged.append(entry) }
                for sample in batch.samples {
                    let key = SeriesKey(device: batch.device, metric: sample.metric)
                    guard let id = ids[key], id >= 0 else {
                        throw SampleStoreError(code: .database, message: "registering series \(key) returned no id")
                    }
                    let position = SampleKey(series: id, timestamp: sample.timestamp)
                    if let existing = positions[position] {
                        valueColumn[existing] = sample.value
                    } else {
                        positions[position] = seriesColumn.count
                        seriesColumn.append(id)
                        timestampColumn.append(sample.timestamp)
                        valueColumn.append(sample.value)
                    }
                    if let newest = outcome.newest[id], newest.timestamp > sample.timestamp { continue }
                    outcome.newest[id] = (sample.timestamp, sample.value)
                }
            case .deadLetter(let letter):
                deadLetters.append(letter)
            }
        }

        if !seriesColumn.isEmpty,
            try await !insertNewSamples(seriesColumn, timestampColumn, valueColumn, on: connection, logger: logger)
        {
            let inserted = try await insertSamples(
                seriesColumn,
                timestampColumn,
                valueColumn,
                on: connection,
                logger: logger
            )
            if inserted < seriesColumn.count {
                try await overwrite(seriesColumn, timestampColumn, valueColumn, on: connection, logger: logger)
            }
        }
        for letter in deadLetters {
            try await insert(letter, on: connection, logger: logger)
            outcome.deadLetters += 1
        }
        if !logged.isEmpty {
            outcome.logged = try await log(logged, on: connection, logger: logger)
        }
        return outcome
    }

    // MARK: - Statements

    private func insertSeries(
        _ keys: [SeriesKey],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [(SeriesKey, Int64)] {
        let devices = keys.map(\.device.rawValue)
        let metrics = keys.map(\.metric.rawValue)
        let rows = try await connection.query(
            """
            INSERT INTO series (device, metric) SELECT * FROM unnest(\(devices)::text[], \(metrics)::text[])
            ON CONFLICT (device, metric) DO UPDATE SET device = excluded.device
            RETURNING id, device, metric
            """,
            logger: logger
        )
        var wanted = Set(keys)
        var created: [(SeriesKey, Int64)] = []
        for try await (id, device, metric) in rows.decode((Int64, String, String).self) {
            guard let deviceID = try? DeviceID(validating: device), let name = try? MetricName(validating: metric)
            else { continue }
            let key = SeriesKey(device: deviceID, metric: name)
            if wanted.remove(key) != nil { created.append((key, id)) }
        }
        if let lost = wanted.first {
            throw SampleStoreError(code: .database, message: "registering series \(lost) returned no id")
        }
        return created
    }

    /// Inserts the group as new rows with a plain `INSERT` and upserts both rollups with the
    /// group's own aggregates, in one statement behind a savepoint. Returns false, with the
    /// savepoint rolled back and nothing written, when some sample already exists (SQLSTATE
    /// 23505 on the primary key).
    private func insertNewSamples(
        _ series: [Int64],
        _ timestamps: [Int64],
        _ values: [Double],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Bool {
        let minutes = RollupColumns(series, timestamps, values, width: TimeBucket.minute)
        let hours = RollupColumns(coarsening: minutes, width: TimeBucket.hour)
        try await connection.query("SAVEPOINT new_samples", logger: logger)
        do {
            try await connection.query(
                """
                WITH new_samples AS (
                    INSERT INTO samples (series, ts, value)
                    SELECT * FROM unnest(\(series)::bigint[], \(timestamps)::bigint[], \(values)::float8[])
                ), minutes AS (
                    INSERT INTO rollup_1m AS r (series, bucket, min_value, max_value, sum_value, count, last_ts, last_value)
                    SELECT * FROM unnest(\(minutes.series)::bigint[], \(minutes.buckets)::bigint[],
                        \(minutes.minimums)::float8[], \(minutes.maximums)::float8[], \(minutes.sums)::float8[],
                        \(minutes.counts)::bigint[], \(minutes.lastTimestamps)::bigint[], \(minutes.lastValues)::float8[])
                    \(unescaped: Self.mergeSQL)
                )
                INSERT INTO rollup_1h AS r (series, bucket, min_value, max_value, sum_value, count, last_ts, last_value)
                SELECT * FROM unnest(\(hours.series)::bigint[], \(hours.buckets)::bigint[],
                    \(hours.minimums)::float8[], \(hours.maximums)::float8[], \(hours.sums)::float8[],
                    \(hours.counts)::bigint[], \(hours.lastTimestamps)::bigint[], \(hours.lastValues)::float8[])
                \(unescaped: Self.mergeSQL)
                """,
                logger: logger
            )
            return true
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            try await connection.query("ROLLBACK TO SAVEPOINT new_samples", logger: logger)
            return false
        }
    }

    /// Inserts the rows that are new and folds exactly those into both rollups; returns how many
    /// were new.
    private func insertSamples(
        _ series: [Int64],
        _ timestamps: [Int64],
        _ values: [Double],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int {
        let rows = try await connection.query(
            """
            WITH inserted AS (
                INSERT INTO samples (series, ts, value)
                SELECT * FROM unnest(\(series)::bigint[], \(timestamps)::bigint[], \(values)::float8[])
                ON CONFLICT (series, ts) DO NOTHING
                RETURNING series, ts, value
            ), minutes AS (
                \(unescaped: Self.foldSQL(table: "rollup_1m", width: TimeBucket.minute))
            ), hours AS (
                \(unescaped: Self.foldSQL(table: "rollup_1h", width: TimeBucket.hour))
            )
            SELECT count(*) FROM inserted
            """,
            logger: logger
        )
        var inserted: Int64 = 0
        for try await count in rows.decode(Int64.self) { inserted = count }
        return Int(inserted)
    }

    /// The upsert of `inserted`'s rows into a rollup: count and sum add up, min and max widen,
    /// `last` follows the greatest timestamp (late samples keep it right).
    private static func foldSQL(table: String, width: Int64) -> String {
        """
        INSERT INTO \(table) AS r (series, bucket, min_value, max_value, sum_value, count, last_ts, last_value)
        SELECT series, ts - ((ts % \(width)) + \(width)) % \(width), min(value), max(value), sum(value), count(*),
            max(ts), (array_agg(value ORDER BY ts DESC))[1]
        FROM inserted GROUP BY 1, 2
        \(mergeSQL)
        """
    }

    /// How a bucket's new aggregate joins the stored one (the rollup table is aliased `r`).
    private static let mergeSQL = """
        ON CONFLICT (series, bucket) DO UPDATE SET
            min_value = LEAST(r.min_value, excluded.min_value),
            max_value = GREATEST(r.max_value, excluded.max_value),
            sum_value = r.sum_value + excluded.sum_value,
            count = r.count + excluded.count,
            last_value = CASE WHEN excluded.last_ts > r.last_ts THEN excluded.last_value ELSE r.last_value END,
            last_ts = GREATEST(r.last_ts, excluded.last_ts)
        """

    /// Overwrites stored values that differ from the group's and recomputes their buckets.
    private func overwrite(
        _ series: [Int64],
        _ timestamps: [Int64],
        _ values: [Double],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let rows = try await connection.query(
            """
            UPDATE samples AS s SET value = i.value
            FROM unnest(\(series)::bigint[], \(timestamps)::bigint[], \(values)::float8[]) AS i(series, ts, value)
            WHERE s.series = i.series AND s.ts = i.ts AND s.value <> i.value
            RETURNING s.series, s.ts
            """,
            logger: logger
        )
        var minutes: Set<SampleKey> = []
        for try await (id, timestamp) in rows.decode((Int64, Int64).self) {
            minutes.insert(SampleKey(series: id, timestamp: TimeBucket.start(of: timestamp, width: TimeBucket.minute)))
        }
        guard !minutes.isEmpty else { return }
        let hours = Set(
            minutes.map {
                SampleKey(series: $0.series, timestamp: TimeBucket.start(of: $0.timestamp, width: TimeBucket.hour))
            }
        )
        try await recompute(minutes, table: "rollup_1m", width: TimeBucket.minute, on: connection, logger: logger)
        try await recompute(hours, table: "rollup_1h", width: TimeBucket.hour, on: connection, logger: logger)
    }

    private func recompute(
        _ buckets: Set<SampleKey>,
        table: String,
        width: Int64,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let series = buckets.map(\.series)
        let starts = buckets.map(\.timestamp)
        try await connection.query(
            """
            INSERT INTO \(unescaped: table) (series, bucket, min_value, max_value, sum_value, count, last_ts, last_value)
            SELECT b.series, b.bucket, min(s.value), max(s.value), sum(s.value), count(*), max(s.ts),
                (array_agg(s.value ORDER BY s.ts DESC))[1]
            FROM unnest(\(series)::bigint[], \(starts)::bigint[]) AS b(series, bucket)
            JOIN samples AS s ON s.series = b.series AND s.ts >= b.bucket AND s.ts < b.bucket + \(width)
            GROUP BY b.series, b.bucket
            ON CONFLICT (series, bucket) DO UPDATE SET
                min_value = excluded.min_value, max_value = excluded.max_value, sum_value = excluded.sum_value,
                count = excluded.count, last_ts = excluded.last_ts, last_value = excluded.last_value
            """,
            logger: logger
        )
    }

    private func insert(_ letter: DeadLetterDraft, on connection: PostgresConnection, logger: Logger) async throws {
        let payload = ByteBuffer(bytes: letter.payload)
        let size = Int64(letter.payloadSize)
        try await connection.query(
            """
            INSERT INTO dead_letters (received_at, device, topic, reason, payload, payload_size)
            VALUES (\(letter.receivedAt), \(letter.device?.rawValue), \(letter.topic), \(letter.reason), \(payload), \(size))
            """,
            logger: logger
        )
    }

    /// Appends `batches` to the commit log under the next sequence numbers, in order.
    private func log(
        _ batches: [TelemetryBatch],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [CommittedBatch] {
        let count = Int64(batches.count)
        let head = try await connection.query(
            "UPDATE commit_log_head SET seq = seq + \(count) WHERE id = 1 RETURNING seq",
            logger: logger
        )
        var last: Int64?
        for try await seq in head.decode(Int64.self) { last = seq }
        guard let last else {
            throw SampleStoreError(code: .database, message: "the commit log's head row is missing")
        }
        let first = last - count + 1
        let sequences = Array(first...last)
        let devices = batches.map(\.device.rawValue)
        let encoded = batches.map { ByteBuffer(bytes: CommitLogCodec.encode($0.samples)) }
        try await connection.query(
            """
            INSERT INTO commit_log (seq, committed_at, device, samples)
            SELECT s, \(committedAt), d, b FROM unnest(\(sequences)::bigint[], \(devices)::text[], \(encoded)::bytea[])
                AS t(s, d, b)
            """,
            logger: logger
        )
        return zip(sequences, batches).map { CommittedBatch(sequence: $0, committedAt: committedAt, batch: $1) }
    }
}

/// One rollup's aggregates of a group of new samples, one entry per (series, bucket), sorted by
/// series and bucket (so that concurrent upserts take their row locks in one order), as the
/// columns an `unnest` statement binds.
struct RollupColumns: Sendable {
    private(set) var series: [Int64] = []
    private(set) var buckets: [Int64] = []
    private(set) var minimums: [Double] = []
    private(set) var maximums: [Double] = []
    private(set) var sums: [Double] = []
    private(set) var counts: [Int64] = []
    private(set) var lastTimestamps: [Int64] = []
    private(set) var lastValues: [Double] = []

    private struct Key: Hashable, Comparable {
        var series: Int64
        var bucket: Int64

        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.series, lhs.bucket) < (rhs.series, rhs.bucket)
        }
    }

    private init() {}

    /// Folds the samples `(series[i], timestamps[i], values[i])` into buckets of `width` ms.
    /// - Complexity: O(n + b log b) for n samples in b buckets.
    init(_ series: [Int64], _ timestamps: [Int64], _ values: [Double], width: Int64) {
        var folding = Folding()
        for index in series.indices {
            let value = values[index]
            folding.add(
                series: series[index],
                at: timestamps[index],
                width: width,
                minimum: value,
                maximum: value,
                sum: value,
                count: 1,
                last: (timestamps[index], value)
            )
        }
        self = folding.sorted()
    }

    /// Folds a finer rollup's buckets into buckets of `width` ms (a multiple of the finer width):
    /// the hour rollup from the minute one, without going over the samples again.
    init(coarsening finer: RollupColumns, width: Int64) {
        var folding = Folding()
        for index in finer.series.indices {
            folding.add(
                series: finer.series[index],
                at: finer.buckets[index],
                width: width,
                minimum: finer.minimums[index],
                maximum: finer.maximums[index],
                sum: finer.sums[index],
                count: finer.counts[index],
                last: (finer.lastTimestamps[index], finer.lastValues[index])
            )
        }
        self = folding.sorted()
    }

    /// The buckets in first-seen order while they are folded.
    private struct Folding {
        var positions: [Key: Int] = [:]
        var keys: [Key] = []
        var columns = RollupColumns()

        mutating func add(
            series: Int64,
            at timestamp: Int64,
            width: Int64,
            minimum: Double,
            maximum: Double,
            sum: Double,
            count: Int64,
            last: (timestamp: Int64, value: Double)
        ) {
            let key = Key(series: series, bucket: TimeBucket.start(of: timestamp, width: width))
            guard let position = positions[key] else {
                positions[key] = keys.count
                keys.append(key)
                columns.minimums.append(minimum)
                columns.maximums.append(maximum)
                columns.sums.append(sum)
                columns.counts.append(count)
                columns.lastTimestamps.append(last.timestamp)
                columns.lastValues.append(last.value)
                return
            }
            columns.minimums[position] = min(columns.minimums[position], minimum)
            columns.maximums[position] = max(columns.maximums[position], maximum)
            columns.sums[position] += sum
            columns.counts[position] += count
            if last.timestamp > columns.lastTimestamps[position] {
                columns.lastTimestamps[position] = last.timestamp
                columns.lastValues[position] = last.value
            }
        }

        func sorted() -> RollupColumns {
            let order = keys.indices.sorted { keys[$0] < keys[$1] }
            var result = RollupColumns()
            result.series = order.map { keys[$0].series }
            result.buckets = order.map { keys[$0].bucket }
            result.minimums = order.map { columns.minimums[$0] }
            result.maximums = order.map { columns.maximums[$0] }
            result.sums = order.map { columns.sums[$0] }
            result.counts = order.map { columns.counts[$0] }
            result.lastTimestamps = order.map { columns.lastTimestamps[$0] }
            result.lastValues = order.map { columns.lastValues[$0] }
            return result
        }
    }
}
