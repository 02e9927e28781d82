import GRDB

/// The schema of `samples.sqlite`, as ordered migrations.
///
/// - `series`: the catalog, one row per (device, metric); its integer id keys everything else.
/// - `samples`: raw values, one per (series, ts), `WITHOUT ROWID` so the primary key *is* the
///   table (about 20 bytes a row; integral REAL values are stored as small integers by SQLite).
/// - `rollup_1m`, `rollup_1h`: min, max, sum, count and the last value (with its timestamp,
///   so that late samples do not replace a newer last value) per epoch-aligned bucket.
/// - `dead_letters`: rejected messages with a bounded copy of the payload.
/// - `device_state`: per device, the last reported attributes (`devices/{id}/state`) and the
///   last online/offline status with when and why.
/// - `broker_state`: documents the MQTT broker keeps across restarts (persistent sessions), one
///   row per key, replaced whole.
/// - `retained_messages`: the broker's retained messages, one row per topic (metadata JSON and
///   payload), written incrementally.
/// - `mqtt_sessions`, `mqtt_session_messages`: the broker's persistent sessions, one row per
///   session (its record as JSON) and one per queued or in-flight QoS 1/2 message, keyed by the
///   client id and the broker's sequence number; written incrementally, before the PUBACK.
/// - `detector_checkpoints`: per series, the JSON state of its live detector and data-quality
///   monitor, replaced at every checkpoint (see `SQLiteSampleStore+Detection.swift`).
/// - `anomaly_bands`: per scored sample, its value, score and the detector's expected band,
///   keyed like `samples` by the scored series' id.
/// - `commit_log`: every committed telemetry batch (samples of the node's own series left out)
///   under a growing sequence number, kept until live detection has checkpointed past it (see
///   `SQLiteSampleStore+CommitLog.swift`); only written while ``SQLiteSampleStoreConfiguration/logsCommits``.
/// - `detection_cursor`: one row, the sequence number of the last logged batch live detection has
///   scored and checkpointed, written with `detector_checkpoints` in one transaction.
enum SampleSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: series, samples, rollups, dead letters") { db in
            try db.execute(
                sql: """
                    CREATE TABLE series (
                        id INTEGER PRIMARY KEY,
                        device TEXT NOT NULL,
                        metric TEXT NOT NULL,
                        UNIQUE (device, metric)
                    );
                    CREATE TABLE samples (
                        series INTEGER NOT NULL,
                        ts INTEGER NOT NULL,
                        value REAL NOT NULL,
                        PRIMARY KEY (series, ts)
                    ) WITHOUT ROWID;
                    CREATE TABLE rollup_1m (
                        series INTEGER NOT NULL,
                        bucket INTEGER NOT NULL,
                        min_value REAL NOT NULL,
                        max_value REAL NOT NULL,
                        sum_value REAL NOT NULL,
                        count INTEGER NOT NULL,
                        last_ts INTEGER NOT NULL,
                        last_value REAL NOT NULL,
                        PRIMARY KEY (series, bucket)
                    ) WITHOUT ROWID;
                    CREATE TABLE rollup_1h (
                        series INTEGER NOT NULL,
                        bucket INTEGER NOT NULL,
                        min_value REAL NOT NULL,
                        max_value REAL NOT NULL,
                        sum_value REAL NOT NULL,
                        count INTEGER NOT NULL,
                        last_ts INTEGER NOT NULL,
                        last_value REAL NOT NULL,
                        PRIMARY KEY (series, bucket)
                    ) WITHOUT ROWID;
                    CREATE TABLE dead_letters (
                        id INTEGER PRIMARY KEY,
                        received_at INTEGER NOT NULL,
                        device TEXT,
                        topic TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        payload_size INTEGER NOT NULL
                    );
                    CREATE INDEX dead_letters_received_at ON dead_letters (received_at);
                    """
            )
        }
        migrator.registerMigration("v2: device state and status") { db in
            try db.execute(
                sql: """
                    CREATE TABLE device_state (
                        device TEXT PRIMARY KEY,
                        attributes TEXT,
                        attributes_at INTEGER,
                        status TEXT,
                        status_at INTEGER,
                        status_reason TEXT
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v3: broker state") { db in
            try db.execute(
                sql: """
                    CREATE TABLE broker_state (
                        key TEXT PRIMARY KEY,
                        value BLOB NOT NULL,
                        saved_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v4: detection") { db in
            try db.execute(
                sql: """
                    CREATE TABLE detector_checkpoints (
                        device TEXT NOT NULL,
                        metric TEXT NOT NULL,
                        state BLOB NOT NULL,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (device, metric)
                    ) WITHOUT ROWID;
                    CREATE TABLE anomaly_bands (
                        series INTEGER NOT NULL,
                        ts INTEGER NOT NULL,
                        value REAL NOT NULL,
                        score REAL NOT NULL,
                        expected REAL,
                        lower REAL,
                        upper REAL,
                        PRIMARY KEY (series, ts)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v5: retained messages, one row per topic") { db in
            // A rowid table (not WITHOUT ROWID): payloads may be large, and a retained change
            // then rewrites its own row only.
            try db.execute(
                sql: """
                    CREATE TABLE retained_messages (
                        topic TEXT PRIMARY KEY,
                        metadata BLOB NOT NULL,
                        payload BLOB NOT NULL,
                        saved_at INTEGER NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v6: persistent sessions, one row per session and per message") { db in
            // Messages are rows of their own so that a QoS 1/2 message routed to a persistent
            // session is one insert, durable before its PUBACK, not a rewrite of the session.
            try db.execute(
                sql: """
                    CREATE TABLE mqtt_sessions (
                        client_id TEXT PRIMARY KEY,
                        metadata BLOB NOT NULL,
                        saved_at INTEGER NOT NULL
                    );
                    CREATE TABLE mqtt_session_messages (
                        client_id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        phase TEXT NOT NULL,
                        packet_id INTEGER,
                        metadata BLOB NOT NULL,
                        payload BLOB NOT NULL,
                        saved_at INTEGER NOT NULL,
                        PRIMARY KEY (client_id, seq)
                    );
                    """
            )
        }
        migrator.registerMigration("v7: commit log and detection cursor") { db in
            // The commit log is a rowid table with AUTOINCREMENT: sequence numbers only grow,
            // also once trimming has emptied it, so a cursor never points at a reused number.
            try db.execute(
                sql: """
                    CREATE TABLE commit_log (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        committed_at INTEGER NOT NULL,
                        device TEXT NOT NULL,
                        samples BLOB NOT NULL
                    );
                    CREATE TABLE detection_cursor (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        seq INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    """
            )
        }
        return migrator
    }

    /// The rollup tables, finest first.
    static let rollups: [(table: String, width: Int64)] = [
        ("rollup_1m", TimeBucket.minute), ("rollup_1h", TimeBucket.hour),
    ]
}
