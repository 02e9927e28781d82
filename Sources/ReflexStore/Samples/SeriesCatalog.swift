import GRDB
import ReflexCore

/// The in-memory copy of the `series` table (key ↔ id) and the newest sample of every series.
///
/// Only the group-commit writer mutates it, after its transaction committed, so readers never
/// see an id whose row could still be rolled back.
struct SeriesCatalog: Sendable {
    private(set) var ids: [SeriesKey: Int64] = [:]
    private(set) var keys: [Int64: SeriesKey] = [:]
    private(set) var metrics: [DeviceID: [MetricName: Int64]] = [:]
    private(set) var latest: [DeviceID: [MetricName: Sample]] = [:]

    mutating func add(_ key: SeriesKey, id: Int64) {
        ids[key] = id
        keys[id] = key
        metrics[key.device, default: [:]][key.metric] = id
    }

    /// Keeps `(timestamp, value)` as the newest sample of series `id` unless a newer one is known.
    /// A sample at the same timestamp replaces it (an overwrite of the newest value).
    /// - Complexity: O(1).
    mutating func observe(series id: Int64, timestamp: Int64, value: Double) {
        guard let key = keys[id] else { return }
        if let known = latest[key.device]?[key.metric], known.timestamp > timestamp { return }
        latest[key.device, default: [:]][key.metric] = Sample(metric: key.metric, timestamp: timestamp, value: value)
    }

    /// Reads the catalog and each series' newest sample (raw, else the newest rollup bucket).
    /// - Complexity: O(series × log samples).
    static func load(_ db: Database) throws -> SeriesCatalog {
        var catalog = SeriesCatalog()
        let rows = try Row.fetchAll(db, sql: "SELECT id, device, metric FROM series")
        for row in rows {
            let id: Int64 = row[0]
            let device: String = row[1]
            let metric: String = row[2]
            let key = SeriesKey(device: try DeviceID(validating: device), metric: try MetricName(validating: metric))
            catalog.add(key, id: id)
        }
        let newest = [
            "SELECT ts, value FROM samples WHERE series = ?1 ORDER BY ts DESC LIMIT 1",
            "SELECT last_ts, last_value FROM rollup_1m WHERE series = ?1 ORDER BY bucket DESC LIMIT 1",
            "SELECT last_ts, last_value FROM rollup_1h WHERE series = ?1 ORDER BY bucket DESC LIMIT 1",
        ]
        for (id, _) in catalog.keys {
            for sql in newest {
                let statement = try db.cachedStatement(sql: sql)
                statement.bind(id, at: 1)
                var found: (Int64, Double)?
                try statement.forEachRow(in: db) { row in
                    found = (SQLiteColumn.int64(row, 0), SQLiteColumn.double(row, 1))
                }
                if let found {
                    catalog.observe(series: id, timestamp: found.0, value: found.1)
                    break
                }
            }
        }
        return catalog
    }
}
