public import Foundation
import Logging
import PostgresNIO
public import ReflexCore

/// The MQTT broker's persistent sessions, queued messages and retained messages in PostgreSQL
/// (``PostgresBrokerStateSchema``): what ``SQLiteSampleStore`` keeps in `samples.sqlite`, with
/// the same contract.
///
/// Every write is ONE transaction, and it returns only after PostgreSQL has committed it: the
/// transaction sets `synchronous_commit` to `on` for itself, so the commit waits for the WAL
/// flush even on a server configured with `synchronous_commit = off` (where a crash could
/// otherwise lose the last commits). So when a write returns, all of it survives a crash of the
/// database or the node, and the broker may send the PUBACKs waiting for it; when it throws (a
/// lost connection included), none of it was applied, or its outcome is unknown and the broker
/// must not acknowledge.
public final class PostgresBrokerStateStore: BrokerStateStore {
    let database: PostgresDatabase
    let now: @Sendable () -> Int64

    /// A store on `database`, which must hold ``PostgresBrokerStateSchema/migrations``.
    /// - Parameters:
    ///   - database: the node's PostgreSQL database.
    ///   - clock: stamps `saved_at`.
    public init(database: PostgresDatabase, clock: NodeClock = .system) {
        self.database = database
        self.now = clock.now
    }

    /// The database URL without its password.
    public var location: String { database.settings.description }

    /// `psql 'postgres://user@host:port/database' -c "DELETE FROM table WHERE condition"` (psql
    /// asks for the password, or takes it from `PGPASSWORD` or `~/.pgpass`).
    public func deletionHint(table: String, where condition: String) -> String {
        let settings = database.settings
        let mode = settings.tls == .require ? "?sslmode=require" : ""
        let url = "postgres://\(settings.user)@\(settings.host):\(settings.port)/\(settings.database)\(mode)"
        return "psql '\(url)' -c \"DELETE FROM \(table) WHERE \(condition)\""
    }

    // MARK: - Documents

    /// Reads a document saved with ``saveBrokerState(_:for:)``, or nil.
    public func loadBrokerState(for key: String) async throws -> Data? {
        var value: Data?
        for try await data in try await database.query("SELECT value FROM broker_state WHERE key = \(key)")
            .decode(Data.self)
        {
            value = data
        }
        return value
    }

    /// Replaces a document in one durable transaction (the previous one stays if it fails).
    public func saveBrokerState(_ value: Data, for key: String) async throws {
        let now = self.now()
        try await durableTransaction { [self] connection in
            try await connection.query(
                """
                INSERT INTO broker_state (key, value, saved_at) VALUES (\(key), \(value), \(now))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, saved_at = excluded.saved_at
                """,
                logger: database.logger
            )
        }
    }

    // MARK: - Retained messages

    /// Every stored retained message, in topic order (byte order, as SQLite sorts).
    public func loadRetainedRows() async throws -> [BrokerStateWrite.RetainedRow] {
        var rows: [BrokerStateWrite.RetainedRow] = []
        let query: PostgresQuery = #"SELECT topic, metadata, payload FROM retained_messages ORDER BY topic COLLATE "C""#
        for try await (topic, metadata, payload) in try await database.query(query).decode((String, Data, Data).self) {
            rows.append(BrokerStateWrite.RetainedRow(topic: topic, metadata: metadata, payload: payload))
        }
        return rows
    }

    /// See ``BrokerStateStore/applyRetainedChanges(upserts:deletions:replacingAll:removingDocument:)``:
    /// one durable transaction.
    public func applyRetainedChanges(
        upserts: [BrokerStateWrite.RetainedRow],
        deletions: [String],
        replacingAll: Bool = false,
        removingDocument: String? = nil
    ) async throws {
        let now = self.now()
        try await durableTransaction { [self] connection in
            if replacingAll { try await connection.query("DELETE FROM retained_messages", logger: database.logger) }
            try await applyRetained(
                upserts: upserts,
                deletions: deletions,
                removingDocument: removingDocument,
                on: connection,
                now: now
            )
        }
    }

    // MARK: - Sessions

    /// Every stored session record, in client id order (byte order).
    public func loadSessionRows() async throws -> [BrokerStateWrite.SessionRow] {
        var rows: [BrokerStateWrite.SessionRow] = []
        let query: PostgresQuery = #"SELECT client_id, metadata FROM mqtt_sessions ORDER BY client_id COLLATE "C""#
        for try await (clientID, metadata) in try await database.query(query).decode((String, Data).self) {
            rows.append(BrokerStateWrite.SessionRow(clientID: clientID, metadata: metadata))
        }
        return rows
    }

    /// Every stored session message, by client id (byte order) and then sequence.
    public func loadSessionMessageRows() async throws -> [BrokerStateWrite.SessionMessageRow] {
        var rows: [BrokerStateWrite.SessionMessageRow] = []
        let query: PostgresQuery = #"""
            SELECT client_id, seq, phase, packet_id, metadata, payload FROM mqtt_session_messages
            ORDER BY client_id COLLATE "C", seq
            """#
        for try await (clientID, sequence, phase, packetID, metadata, payload) in try await database.query(query)
            .decode((String, Int64, String, Int64?, Data, Data).self)
        {
            rows.append(
                BrokerStateWrite.SessionMessageRow(
                    clientID: clientID,
                    sequence: sequence,
                    phase: phase,
                    packetID: packetID.map { Int($0) },
                    metadata: metadata,
                    payload: payload
                )
            )
        }
        return rows
    }

    /// Applies session writes in order and retained changes, all in ONE durable transaction:
    /// when this returns, all of it survives a crash; when it throws, the broker must not
    /// acknowledge what waited for it.
    /// - Parameter removingDocument: a `broker_state` key deleted in the same transaction.
    public func applyBrokerState(
        _ writes: [BrokerStateWrite],
        retainedUpserts: [BrokerStateWrite.RetainedRow] = [],
        retainedDeletions: [String] = [],
        removingDocument: String? = nil
    ) async throws {
        let now = self.now()
        try await durableTransaction { [self] connection in
            // Consecutive message upserts (a burst of QoS 1 messages for offline sessions) go
            // in one multi-row statement instead of one round trip each; order is kept.
            var pendingMessages: [BrokerStateWrite.SessionMessageRow] = []
            for write in writes {
                if case .upsertMessage(let message) = write {
                    pendingMessages.append(message)
                    continue
                }
                try await upsertMessages(pendingMessages, on: connection, now: now)
                pendingMessages.removeAll()
                try await apply(write, on: connection, now: now)
            }
            try await upsertMessages(pendingMessages, on: connection, now: now)
            try await applyRetained(
                upserts: retainedUpserts,
                deletions: retainedDeletions,
                removingDocument: removingDocument,
                on: connection,
                now: now
            )
        }
    }

    // MARK: - Internals

    /// How long one write may take, waiting for a connection included: while PostgreSQL is
    /// unreachable the pool queues requests until its circuit breaker trips (15 s and more), and
    /// the broker holds the PUBACKs waiting for the write all that time. Past this the write
    /// fails (`unavailable`) and the broker refuses instead.
    static let writeTimeout: Duration = .seconds(5)

    /// One transaction that commits only once its WAL is flushed (see the type's comment), bounded
    /// by ``writeTimeout``.
    private func durableTransaction(_ body: @escaping @Sendable (PostgresConnection) async throws -> Void) async throws
    {
        let database = self.database
        try await CommitDeadline.run(within: Self.writeTimeout) {
            try await database.transaction { connection in
                try await connection.query("SET LOCAL synchronous_commit TO on", logger: database.logger)
                try await body(connection)
            }
        }
    }

    private func applyRetained(
        upserts: [BrokerStateWrite.RetainedRow],
        deletions: [String],
        removingDocument: String?,
        on connection: PostgresConnection,
        now: Int64
    ) async throws {
        if !deletions.isEmpty {
            try await connection.query(
                "DELETE FROM retained_messages WHERE topic = ANY(\(deletions))",
                logger: database.logger
            )
        }
        try await upsertRetained(upserts, on: connection, now: now)
        if let removingDocument {
            try await connection.query(
                "DELETE FROM broker_state WHERE key = \(removingDocument)",
                logger: database.logger
            )
        }
    }

    private func apply(_ write: BrokerStateWrite, on connection: PostgresConnection, now: Int64) async throws {
        let logger = database.logger
        switch write {
        case .replaceAllSessions(let sessions, let messages):
            try await connection.query("DELETE FROM mqtt_session_messages", logger: logger)
            try await connection.query("DELETE FROM mqtt_sessions", logger: logger)
            try await upsertSessions(sessions, on: connection, now: now)
            try await upsertMessages(messages, on: connection, now: now)
        case .upsertSession(let session):
            try await upsertSessions([session], on: connection, now: now)
        case .removeSession(let clientID):
            try await connection.query(
                "DELETE FROM mqtt_session_messages WHERE client_id = \(clientID)",
                logger: logger
            )
            try await connection.query("DELETE FROM mqtt_sessions WHERE client_id = \(clientID)", logger: logger)
        case .upsertMessage(let message):
            try await upsertMessages([message], on: connection, now: now)
        case .updateMessage(let clientID, let sequence, let phase, let packetID):
            let packet = packetID.map { Int64($0) }
            try await connection.query(
                """
                UPDATE mqtt_session_messages SET phase = \(phase), packet_id = \(packet)
                WHERE client_id = \(clientID) AND seq = \(sequence)
                """,
                logger: logger
            )
        case .removeMessage(let clientID, let sequence):
            try await connection.query(
                "DELETE FROM mqtt_session_messages WHERE client_id = \(clientID) AND seq = \(sequence)",
                logger: logger
            )
        }
    }
}
