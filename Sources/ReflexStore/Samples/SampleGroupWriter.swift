import Foundation
import GRDB
import ReflexCore

/// Writes one group of pending work inside the caller's transaction: raw samples, rollups,
/// dead letters. The SQL of the write path lives here.
///
/// Rollup strategy (exact under redelivery and out-of-order arrival):
/// 1. Each sample is inserted with `ON CONFLICT DO NOTHING`. If it was new (`changes() == 1`), it
///    is folded into an in-memory aggregate of its (series, minute) and (series, hour) bucket.
/// 2. If the (series, ts) row existed, the value is overwritten only when it differs; such a
///    bucket is marked dirty. A redelivered identical sample changes nothing and is not counted
///    twice.
/// 3. After the samples, each touched bucket is upserted once, adding count and sum and
///    widening min and max; `last` follows the greatest timestamp, so late samples keep it right.
/// 4. Dirty buckets (a value really changed) are recomputed from raw samples, which is exact
///    because retention deletes raw samples in whole hours (see ``SQLiteSampleStore/applyRetention(now:)``).
///
/// Commit log (when `logsCommits`): each batch is also appended to `commit_log` as one row (its
/// samples encoded by ``CommitLogCodec``, those of reserved series left out), in the same
/// transaction, so that a batch is logged exactly when it is committed. The rows' sequence
/// numbers come back in ``Outcome/logged``, in enqueue order.
///
/// - Complexity: O(n log N) for n samples in a table of N rows, plus O(b) upserts for b touched
///   buckets and O(rows in bucket) per dirty bucket, plus one append per logged batch.
struct SampleGroupWriter {
    struct Outcome {
        var samples = 0
        var messages = 0
        var deadLetters = 0
        var newSeries: [(key: SeriesKey, id: Int64)] = []
        var newest: [Int64: (timestamp: Int64, value: Double)] = [:]
        /// The batches appended to the commit log, in enqueue order.
        var logged: [CommittedBatch] = []
    }

    struct BucketKey: Hashable {
        var series: Int64
        var start: Int64
    }

    struct BucketAggregate {
        var min = Double.infinity
        var max = -Double.infinity
        var sum = 0.0
        var count: Int64 = 0
        var lastTimestamp = Int64.min
        var last = 0.0

        @inline(__always)
        mutating func add(timestamp: Int64, value: Double) {
            if value < min { min = value }
            if value > max { max = value }
            sum += value
            count += 1
            if timestamp > lastTimestamp {
                lastTimestamp = timestamp
                last = value
            }
        }
    }

    let db: Database
    let knownSeries: [SeriesKey: Int64]
    /// Whether batches are appended to `commit_log`.
    var logsCommits = false
    /// The commit time written to the log, ms since the epoch.
    var committedAt: Int64 = 0

    func write(_ items: [PendingItem]) throws -> Outcome {
        let insertSample = try db.cachedStatement(
            sql: "INSERT INTO samples (series, ts, value) VALUES (?1, ?2, ?3) ON CONFLICT (series, ts) DO NOTHING"
        )
        let overwriteSample = try db.cachedStatement(
            sql: "UPDATE samples SET value = ?3 WHERE series = ?1 AND ts = ?2 AND value IS NOT ?3"
        )
        var outcome = Outcome()
        var newIDs: [SeriesKey: Int64] = [:]
        var minutes: [BucketKey: BucketAggregate] = [:]
        var hours: [BucketKey: BucketAggregate] = [:]
        var dirtyMinutes: Set<BucketKey> = []

        for item in items {
            switch item.work {
            case .batch(let batch):
                if logsCommits, let entry = try log(batch) { outcome.logged.append(entry) }
                outcome.messages += 1
                outcome.samples += batch.samples.count
                for sample in batch.samples {
                    let key = SeriesKey(device: batch.device, metric: sample.metric)
                    let id: Int64
                    if let known = knownSeries[key] ?? newIDs[key] {
                        id = known
                    } else {
                        id = try insertSeries(key)
                        newIDs[key] = id
                        outcome.newSeries.append((key, id))
                    }
                    let timestamp = sample.timestamp
                    let value = sample.value
                    insertSample.bind(id, at: 1)
                    insertSample.bind(timestamp, at: 2)
                    insertSample.bind(value, at: 3)
                    try insertSample.run(in: db)
                    let minute = TimeBucket.start(of: timestamp, width: TimeBucket.minute)
                    if db.changesCount == 1 {
                        minutes[BucketKey(series: id, start: minute), default: BucketAggregate()]
                            .add(timestamp: timestamp, value: value)
                        let hour = TimeBucket.start(of: timestamp, width: TimeBucket.hour)
                        hours[BucketKey(series: id, start: hour), default: BucketAggregate()]
                            .add(timestamp: timestamp, value: value)
                    } else {
                        overwriteSample.bind(id, at: 1)
                        overwriteSample.bind(timestamp, at: 2)
                        overwriteSample.bind(value, at: 3)
                        try overwriteSample.run(in: db)
                        if db.changesCount == 1 {
                            dirtyMinutes.insert(BucketKey(series: id, start: minute))
                        }
                    }
                    if let newest = outcome.newest[id], newest.timestamp > timestamp { continue }
                    outcome.newest[id] = (timestamp, value)
                }
            case .deadLetter(let letter):
                outcome.deadLetters += 1
                try db.execute(
                    sql: """
                        INSERT INTO dead_letters (received_at, device, topic, reason, payload, payload_size)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        letter.receivedAt, letter.device?.rawValue, letter.topic, letter.reason,
                        Data(letter.payload), letter.payloadSize,
                    ]
                )
            }
        }
        try upsert(minutes, into: "rollup_1m")
        try upsert(hours, into: "rollup_1h")
        if !dirtyMinutes.isEmpty {
            var dirtyHours: Set<BucketKey> = []
            for bucket in dirtyMinutes {
                try recompute(bucket, width: TimeBucket.minute, table: "rollup_1m")
                dirtyHours.insert(
                    BucketKey(series: bucket.series, start: TimeBucket.start(of: bucket.start, width: TimeBucket.hour))
                )
            }
            for bucket in dirtyHours {
                try recompute(bucket, width: TimeBucket.hour, table: "rollup_1h")
            }
        }
        return outcome
    }

    /// Appends `batch` (without reserved series) to the commit log; nil when nothing is left.
    private func log(_ batch: TelemetryBatch) throws -> CommittedBatch? {
        guard let logged = CommitLogCodec.loggable(batch) else { return nil }
        let statement = try db.cachedStatement(
            sql: "INSERT INTO commit_log (committed_at, device, samples) VALUES (?1, ?2, ?3)"
        )
        try statement.execute(arguments: [committedAt, batch.device.rawValue, CommitLogCodec.encode(logged.samples)])
        return CommittedBatch(sequence: db.lastInsertedRowID, committedAt: committedAt, batch: logged)
    }

    private func insertSeries(_ key: SeriesKey) throws -> Int64 {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO series (device, metric) VALUES (?, ?)
                ON CONFLICT (device, metric) DO UPDATE SET device = excluded.device
                RETURNING id
                """
        )
        guard let id = try Int64.fetchOne(statement, arguments: [key.device.rawValue, key.metric.rawValue]) else {
            throw SampleStoreError(code: .database, message: "registering series \(key) returned no id")
        }
        return id
    }

    private func upsert(_ buckets: [BucketKey: BucketAggregate], into table: String) throws {
        guard !buckets.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO \(table) (series, bucket, min_value, max_value, sum_value, count, last_ts, last_value)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                ON CONFLICT (series, bucket) DO UPDATE SET
                    min_value = min(min_value, excluded.min_value),
                    max_value = max(max_value, excluded.max_value),
                    sum_value = sum_value + excluded.sum_value,
                    count = count + excluded.count,
                    last_value = CASE WHEN excluded.last_ts > last_ts THEN excluded.last_value ELSE last_value END,
                    last_ts = max(last_ts, excluded.last_ts)
                """
        )
        for (key, aggregate) in buckets {
            statement.bind(key.series, at: 1)
            statement.bind(key.start, at: 2)
            statement.bind(aggregate.min, at: 3)
            statement.bind(aggregate.max, at: 4)
            statement.bind(aggregate.sum, at: 5)
            statement.bind(aggregate.count, at: 6)
            statement.bind(aggregate.lastTimestamp, at: 7)
            statement.bind(aggregate.last, at: 8)
            try statement.run(in: db)
        }
    }

    private func recompute(_ bucket: BucketKey, width: Int64, table: String) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO \(table)
                    (series, bucket, min_value, max_value, sum_value, count, last_ts, last_value)
                SELECT * FROM (
                    SELECT ?1, ?2, min(value), max(value), sum(value), count(*) AS n, max(ts),
                        (SELECT value FROM samples WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts DESC LIMIT 1)
                    FROM samples WHERE series = ?1 AND ts >= ?2 AND ts < ?3
                ) WHERE n > 0
                """
        )
        statement.bind(bucket.series, at: 1)
        statement.bind(bucket.start, at: 2)
        statement.bind(bucket.start + width, at: 3)
        try statement.run(in: db)
    }
}
