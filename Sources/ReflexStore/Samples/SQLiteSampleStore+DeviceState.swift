import GRDB
public import ReflexCore

extension SQLiteSampleStore: DeviceStateStore {
    // State changes are rare (a device connects, reports its settings), so they are written
    // directly rather than through the sample group commit.

    public func recordAttributes(device: DeviceID, json: String, at timestamp: Int64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO device_state (device, attributes, attributes_at) VALUES (?, ?, ?)
                    ON CONFLICT (device) DO UPDATE SET attributes = excluded.attributes,
                        attributes_at = excluded.attributes_at
                    """,
                arguments: [device.rawValue, json, timestamp]
            )
        }
    }

    public func recordStatus(device: DeviceID, online: Bool, at timestamp: Int64, reason: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO device_state (device, status, status_at, status_reason) VALUES (?, ?, ?, ?)
                    ON CONFLICT (device) DO UPDATE SET status = excluded.status, status_at = excluded.status_at,
                        status_reason = excluded.status_reason
                    """,
                arguments: [device.rawValue, online ? "online" : "offline", timestamp, reason]
            )
        }
    }

    public func deviceState(_ device: DeviceID) async throws -> DeviceState? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT attributes, attributes_at, status, status_at, status_reason
                        FROM device_state WHERE device = ?
                        """,
                    arguments: [device.rawValue]
                )
            else { return nil }
            return DeviceState(
                device: device,
                attributes: row["attributes"],
                attributesAt: row["attributes_at"],
                status: row["status"],
                statusAt: row["status_at"],
                statusReason: row["status_reason"]
            )
        }
    }
}
