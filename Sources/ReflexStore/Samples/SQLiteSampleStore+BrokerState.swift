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
}
