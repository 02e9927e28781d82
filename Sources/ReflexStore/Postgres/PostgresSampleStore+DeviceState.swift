import PostgresNIO
public import ReflexCore

extension PostgresSampleStore: DeviceStateStore {
    // State changes are rare (a device connects, reports its settings), so they are written
    // directly rather than through the sample group commit, as in the SQLite store.

    public func recordAttributes(device: DeviceID, json: String, at timestamp: Int64) async throws {
        try await access("recording the attributes of device '\(device)'") {
            try await database.query(
                """
                INSERT INTO device_state (device, attributes, attributes_at) VALUES (\(device.rawValue), \(json), \(timestamp))
                ON CONFLICT (device) DO UPDATE SET attributes = excluded.attributes, attributes_at = excluded.attributes_at
                """
            )
        }
    }

    public func recordStatus(device: DeviceID, online: Bool, at timestamp: Int64, reason: String) async throws {
        let status = online ? "online" : "offline"
        try await access("recording the status of device '\(device)'") {
            try await database.query(
                """
                INSERT INTO device_state (device, status, status_at, status_reason)
                VALUES (\(device.rawValue), \(status), \(timestamp), \(reason))
                ON CONFLICT (device) DO UPDATE SET status = excluded.status, status_at = excluded.status_at,
                    status_reason = excluded.status_reason
                """
            )
        }
    }

    public func deviceState(_ device: DeviceID) async throws -> DeviceState? {
        try await access("reading the state of device '\(device)'") {
            let rows = try await database.query(
                """
                SELECT attributes, attributes_at, status, status_at, status_reason
                FROM device_state WHERE device = \(device.rawValue)
                """
            )
            for try await (attributes, attributesAt, status, statusAt, reason) in rows.decode(
                (String?, Int64?, String?, Int64?, String?).self
            ) {
                return DeviceState(
                    device: device,
                    attributes: attributes,
                    attributesAt: attributesAt,
                    status: status,
                    statusAt: statusAt,
                    statusReason: reason
                )
            }
            return nil
        }
    }
}
