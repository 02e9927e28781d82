import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Multi-row upserts: each list is one statement over `unnest` of one array per column, so a
/// write costs one round trip per kind of row, not one per row. A key that appears twice in a
/// list keeps its last row, as one statement per row in order would leave it (PostgreSQL's
/// `ON CONFLICT DO UPDATE` refuses to touch a row twice in one statement).
extension PostgresBrokerStateStore {
    func upsertRetained(
        _ rows: [BrokerStateWrite.RetainedRow],
        on connection: PostgresConnection,
        now: Int64
    ) async throws {
        let rows = Self.lastPerKey(rows, key: \.topic)
        guard !rows.isEmpty else { return }
        let topics = rows.map(\.topic)
        let metadata = rows.map { ByteBuffer(bytes: $0.metadata) }
        let payloads = rows.map { ByteBuffer(bytes: $0.payload) }
        try await connection.query(
            """
            INSERT INTO retained_messages (topic, metadata, payload, saved_at)
            SELECT topic, metadata, payload, \(now)
            FROM unnest(\(topics)::text[], \(metadata)::bytea[], \(payloads)::bytea[]) AS row(topic, metadata, payload)
            ON CONFLICT (topic) DO UPDATE SET metadata = excluded.metadata,
                payload = excluded.payload, saved_at = excluded.saved_at
            """,
            logger: database.logger
        )
    }

    func upsertSessions(
        _ rows: [BrokerStateWrite.SessionRow],
        on connection: PostgresConnection,
        now: Int64
    ) async throws {
        let rows = Self.lastPerKey(rows, key: \.clientID)
        guard !rows.isEmpty else { return }
        let clientIDs = rows.map(\.clientID)
        let metadata = rows.map { ByteBuffer(bytes: $0.metadata) }
        try await connection.query(
            """
            INSERT INTO mqtt_sessions (client_id, metadata, saved_at)
            SELECT client_id, metadata, \(now)
            FROM unnest(\(clientIDs)::text[], \(metadata)::bytea[]) AS row(client_id, metadata)
            ON CONFLICT (client_id) DO UPDATE SET metadata = excluded.metadata, saved_at = excluded.saved_at
            """,
            logger: database.logger
        )
    }

    func upsertMessages(
        _ rows: [BrokerStateWrite.SessionMessageRow],
        on connection: PostgresConnection,
        now: Int64
    ) async throws {
        let rows = Self.lastPerKey(rows, key: { MessageKey(clientID: $0.clientID, sequence: $0.sequence) })
        guard !rows.isEmpty else { return }
        let clientIDs = rows.map(\.clientID)
        let sequences = rows.map(\.sequence)
        let phases = rows.map(\.phase)
        // -1 stands for "no packet id yet" (MQTT packet ids are 1...65535): arrays of optionals
        // cannot be bound.
        let packetIDs = rows.map { Int64($0.packetID ?? -1) }
        let metadata = rows.map { ByteBuffer(bytes: $0.metadata) }
        let payloads = rows.map { ByteBuffer(bytes: $0.payload) }
        try await connection.query(
            """
            INSERT INTO mqtt_session_messages (client_id, seq, phase, packet_id, metadata, payload, saved_at)
            SELECT client_id, seq, phase, NULLIF(packet_id, -1), metadata, payload, \(now)
            FROM unnest(\(clientIDs)::text[], \(sequences)::bigint[], \(phases)::text[], \(packetIDs)::bigint[],
                \(metadata)::bytea[], \(payloads)::bytea[]) AS row(client_id, seq, phase, packet_id, metadata, payload)
            ON CONFLICT (client_id, seq) DO UPDATE SET phase = excluded.phase, packet_id = excluded.packet_id,
                metadata = excluded.metadata, payload = excluded.payload, saved_at = excluded.saved_at
            """,
            logger: database.logger
        )
    }

    private struct MessageKey: Hashable {
        var clientID: String
        var sequence: Int64
    }

    /// `rows` with only the last row of each key, in the order of those last rows.
    /// - Complexity: O(n).
    static func lastPerKey<Row, Key: Hashable>(_ rows: [Row], key: (Row) -> Key) -> [Row] {
        var last: [Key: Int] = [:]
        for (index, row) in rows.enumerated() { last[key(row)] = index }
        guard last.count < rows.count else { return rows }
        return rows.indices.filter { last[key(rows[$0])] == $0 }.map { rows[$0] }
    }
}
