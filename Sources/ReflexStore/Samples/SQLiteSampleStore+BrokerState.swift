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
        let now = Int64(Date().timeIntervalSince1970 * 1000)
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

    /// One retained message as stored: its topic, its metadata (opaque to the store) and payload.
    public struct RetainedRow: Sendable, Equatable {
        /// The topic, the row's key.
        public var topic: String
        /// Everything but the payload, as the broker encodes it (JSON).
        public var metadata: Data
        /// The payload bytes as published.
        public var payload: Data

        /// - Parameters:
        ///   - topic: the retained message's topic.
        ///   - metadata: its encoded metadata.
        ///   - payload: its payload.
        public init(topic: String, metadata: Data, payload: Data) {
            self.topic = topic
            self.metadata = metadata
            self.payload = payload
        }
    }

    /// Every stored retained message, in topic order.
    public func loadRetainedRows() async throws -> [RetainedRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT topic, metadata, payload FROM retained_messages ORDER BY topic").map {
                RetainedRow(topic: $0["topic"], metadata: $0["metadata"], payload: $0["payload"])
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
        upserts: [RetainedRow],
        deletions: [String],
        replacingAll: Bool = false,
        removingDocument: String? = nil
    ) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await pool.write { db in
            if replacingAll { try db.execute(sql: "DELETE FROM retained_messages") }
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
    }
}
