public import Foundation
import GRDB

extension SQLiteSampleStore {
    /// Reads a document saved with ``saveBrokerState(_:for:)``, or nil.
    public func loadBrokerState(for key: String) async throws -> Data? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM broker_state WHERE key = ?", arguments: [key])
        }
    }

    /// Replaces a document in one durable transaction (the previous one stays if it fails).
    public func saveBrokerState(_ value: Data, for key: String) async throws {
        let now = self.now()
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO broker_state (key, value, saved_at) VALUES (?, ?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, saved_at = excluded.saved_at
                    """,
                arguments: [key, value, now]
            )
        }
    }

    // MARK: - Retained messages, one row per topic

    /// Every stored retained message, in topic order.
    public func loadRetainedRows() async throws -> [BrokerStateWrite.RetainedRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT topic, metadata, payload FROM retained_messages ORDER BY topic").map {
                BrokerStateWrite.RetainedRow(topic: $0["topic"], metadata: $0["metadata"], payload: $0["payload"])
            }
        }
    }

    /// Writes retained changes in one durable transaction: each upsert inserts or replaces the
    /// row of its topic, each deletion removes one; other rows are not touched, so the cost is
    /// that of the changed messages only.
    /// - Parameters:
    ///   - replacingAll: first delete every row (a full replacement).
    ///   - removingDocument: a `broker_state` key deleted in the same transaction (the legacy
    ///     one-document form being migrated to rows).
    public func applyRetainedChanges(
        upserts: [BrokerStateWrite.RetainedRow],
        deletions: [String],
        replacingAll: Bool = false,
        removingDocument: String? = nil
    ) async throws {
        let now = self.now()
        try await pool.write { db in
            if replacingAll { try db.execute(sql: "DELETE FROM retained_messages") }
            try Self.applyRetained(
                upserts: upserts,
                deletions: deletions,
                removingDocument: removingDocument,
                in: db,
                now: now
            )
        }
    }
}

// MARK: - Persistent sessions, one row per session and per message

extension SQLiteSampleStore {
    /// Every stored session record, in client id order.
    public func loadSessionRows() async throws -> [BrokerStateWrite.SessionRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT client_id, metadata FROM mqtt_sessions ORDER BY client_id").map {
                BrokerStateWrite.SessionRow(clientID: $0["client_id"], metadata: $0["metadata"])
            }
        }
    }

    /// Every stored session message, by client id and then sequence (delivery order).
    public func loadSessionMessageRows() async throws -> [BrokerStateWrite.SessionMessageRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT client_id, seq, phase, packet_id, metadata, payload FROM mqtt_session_messages
                    ORDER BY client_id, seq
                    """
            ).map {
                BrokerStateWrite.SessionMessageRow(
                    clientID: $0["client_id"],
                    sequence: $0["seq"],
                    phase: $0["phase"],
                    packetID: $0["packet_id"],
                    metadata: $0["metadata"],
                    payload: $0["payload"]
                )
            }
        }
    }

    /// Applies session writes in order and retained changes, all in ONE durable transaction
    /// (WAL, `synchronous = FULL`): when this returns, all of it survives a crash; when it
    /// throws, none of it was applied. The broker sends the PUBACKs waiting for it afterwards.
    /// - Parameter removingDocument: a `broker_state` key deleted in the same transaction (the
    ///   legacy one-document sessions being migrated to rows).
    public func applyBrokerState(
        _ writes: [BrokerStateWrite],
        retainedUpserts: [BrokerStateWrite.RetainedRow] = [],
        retainedDeletions: [String] = [],
        removingDocument: String? = nil
    ) async throws {
        let now = self.now()
        try await pool.write { db in
            for write in writes {
                try Self.apply(write, in: db, now: now)
            }
            try Self.applyRetained(
                upserts: retainedUpserts,
                deletions: retainedDeletions,
                removingDocument: removingDocument,
                in: db,
                now: now
            )
        }
    }

    /// Deletes and upserts retained rows (one per topic), and drops a superseded document.
    private static func applyRetained(
        upserts: [BrokerStateWrite.RetainedRow],
        deletions: [String],
        removingDocument: String?,
        in db: Database,
        now: Int64
    ) throws {
        for topic in deletions {
            try db.execute(sql: "DELETE FROM retained_messages WHERE topic = ?", arguments: [topic])
        }
        for row in upserts {
            try db.execute(
                sql: """
                    INSERT INTO retained_messages (topic, metadata, payload, saved_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (topic) DO UPDATE SET metadata = excluded.metadata,
                        payload = excluded.payload, saved_at = excluded.saved_at
                    """,
                arguments: [row.topic, row.metadata, row.payload, now]
            )
        }
        if let removingDocument {
            try db.execute(sql: "DELETE FROM broker_state WHERE key = ?", arguments: [removingDocument])
        }
    }

    private static func apply(_ write: BrokerStateWrite, in db: Database, now: Int64) throws {
        switch write {
        case .replaceAllSessions(let sessions, let messages):
            try db.execute(sql: "DELETE FROM mqtt_session_messages")
            try db.execute(sql: "DELETE FROM mqtt_sessions")
            for session in sessions { try upsert(session, in: db, now: now) }
            for message in messages { try upsert(message, in: db, now: now) }
        case .upsertSession(let session):
            try upsert(session, in: db, now: now)
        case .removeSession(let clientID):
            try db.execute(sql: "DELETE FROM mqtt_session_messages WHERE client_id = ?", arguments: [clientID])
            try db.execute(sql: "DELETE FROM mqtt_sessions WHERE client_id = ?", arguments: [clientID])
        case .upsertMessage(let message):
            try upsert(message, in: db, now: now)
        case .updateMessage(let clientID, let sequence, let phase, let packetID):
            try db.cachedStatement(
                sql: "UPDATE mqtt_session_messages SET phase = ?, packet_id = ? WHERE client_id = ? AND seq = ?"
            ).execute(arguments: [phase, packetID, clientID, sequence])
        case .removeMessage(let clientID, let sequence):
            try db.cachedStatement(sql: "DELETE FROM mqtt_session_messages WHERE client_id = ? AND seq = ?")
                .execute(arguments: [clientID, sequence])
        }
    }

    private static func upsert(_ session: BrokerStateWrite.SessionRow, in db: Database, now: Int64) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO mqtt_sessions (client_id, metadata, saved_at) VALUES (?, ?, ?)
                ON CONFLICT (client_id) DO UPDATE SET metadata = excluded.metadata, saved_at = excluded.saved_at
                """
        ).execute(arguments: [session.clientID, session.metadata, now])
    }

    private static func upsert(_ message: BrokerStateWrite.SessionMessageRow, in db: Database, now: Int64) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO mqtt_session_messages (client_id, seq, phase, packet_id, metadata, payload, saved_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (client_id, seq) DO UPDATE SET phase = excluded.phase, packet_id = excluded.packet_id,
                    metadata = excluded.metadata, payload = excluded.payload, saved_at = excluded.saved_at
                """
        ).execute(
            arguments: [
                message.clientID, message.sequence, message.phase, message.packetID, message.metadata,
                message.payload, now,
            ]
        )
    }
}

// MARK: - BrokerStateStore

extension SQLiteSampleStore: BrokerStateStore {
    /// The database file's path.
    public var location: String { path }

    /// `sqlite3 'path' "DELETE FROM table WHERE condition"`.
    public func deletionHint(table: String, where condition: String) -> String {
        "sqlite3 '\(path)' \"DELETE FROM \(table) WHERE \(condition)\""
    }
}
