import Foundation
public import ReflexMQTT
public import ReflexStore

/// Keeps the broker's persistent sessions and retained messages in the sample store's database
/// (a ``BrokerStateStore``: `samples.sqlite`, or PostgreSQL), so one store holds everything a node must not lose.
///
/// - Sessions: one row per session in `mqtt_sessions` (its record as JSON, without messages)
///   and one row per queued or in-flight QoS 1/2 message in `mqtt_session_messages` (metadata
///   JSON, payload blob, phase and packet id as columns), keyed by client id and the broker's
///   sequence number. ``apply(_:)`` writes the broker's changes incrementally, one durable
///   transaction per batch: a message routed to an offline subscriber is one insert.
/// - Retained messages: one row per topic in table `retained_messages` (metadata as JSON, the
///   payload as a blob), written incrementally: a save inserts, replaces or deletes the rows of
///   the topics that changed, so one small retained publish no longer rewrites every large
///   retained message. Each save is one durable transaction.
///
/// Nodes that saved sessions or retained messages as one document (`mqtt.sessions.v1`,
/// `mqtt.retained.v1`, before rows) are migrated at the first load: the document's content
/// becomes rows and the document is deleted, in one transaction.
public struct StoreSessionStore: SessionStore {
    let store: any BrokerStateStore

    public init(store: any BrokerStateStore) {
        self.store = store
    }

    static let sessionsKey = "mqtt.sessions.v1"
    /// The legacy one-document form of the retained messages.
    static let retainedKey = "mqtt.retained.v1"

    public func loadSessions() async throws -> [PersistedSession] {
        if try await store.loadBrokerState(for: Self.sessionsKey) != nil {
            var legacy = try await load([PersistedSession].self, key: Self.sessionsKey)
            var sequence: Int64 = 0
            for session in legacy.indices {
                for message in legacy[session].messages.indices where legacy[session].messages[message].sequence == nil
                {
                    sequence += 1
                    legacy[session].messages[message].sequence = sequence
                }
            }
            try await store.applyBrokerState(
                [try Self.replaceAll(legacy)],
                retainedUpserts: [],
                retainedDeletions: [],
                removingDocument: Self.sessionsKey
            )
        }
        var messages: [String: [PersistedMessage]] = [:]
        for row in try await store.loadSessionMessageRows() {
            var message: PersistedMessage
            do {
                message = try JSONDecoder().decode(PersistedMessage.self, from: row.metadata)
            } catch {
                throw StoreSessionStoreError(
                    "message \(row.sequence) of session '\(row.clientID)' in \(store.location) cannot be read (\(error)); delete it with: "
                        + store.deletionHint(
                            table: "mqtt_session_messages",
                            where: "client_id = '\(Self.quoted(row.clientID))' AND seq = \(row.sequence)"
                        )
                )
            }
            message.payload = row.payload
            message.sequence = row.sequence
            message.phase = PersistedMessage.Phase(rawValue: row.phase) ?? message.phase
            message.packetID = row.packetID.flatMap { UInt16(exactly: $0) }
            messages[row.clientID, default: []].append(message)
        }
        return try await store.loadSessionRows().map { row in
            var session: PersistedSession
            do {
                session = try JSONDecoder().decode(PersistedSession.self, from: row.metadata)
            } catch {
                throw StoreSessionStoreError(
                    "the session of client '\(row.clientID)' in \(store.location) cannot be read (\(error)); delete it with: "
                        + store.deletionHint(
                            table: "mqtt_sessions",
                            where: "client_id = '\(Self.quoted(row.clientID))'"
                        )
                )
            }
            session.messages = messages[row.clientID] ?? []
            return session
        }
    }

    /// Replaces every stored session and message in one durable transaction.
    public func saveSessions(_ sessions: [PersistedSession]) async throws {
        try await store.applyBrokerState(
            [try Self.replaceAll(sessions)],
            retainedUpserts: [],
            retainedDeletions: [],
            removingDocument: nil
        )
    }

    /// Writes the batch's session changes (in order) and retained changes in one durable
    /// transaction, touching only the rows they name (a full replacement excepted).
    public func apply(_ batch: BrokerStateBatch) async throws {
        guard !batch.isEmpty else { return }
        try await store.applyBrokerState(
            try batch.sessionChanges.map(Self.write),
            retainedUpserts: try batch.retained.upserts.map(Self.row),
            retainedDeletions: batch.retained.deletions,
            removingDocument: nil
        )
    }

    private static func write(_ change: SessionChange) throws -> BrokerStateWrite {
        switch change {
        case .replaceAll(let sessions):
            return try replaceAll(sessions)
        case .upsertSession(let session):
            return .upsertSession(try sessionRow(session))
        case .removeSession(let clientID):
            return .removeSession(clientID: clientID)
        case .appendMessage(let clientID, let message):
            return .upsertMessage(try messageRow(message, clientID: clientID, fallbackSequence: 0))
        case .updateMessage(let clientID, let sequence, let phase, let packetID):
            return .updateMessage(
                clientID: clientID,
                sequence: sequence,
                phase: phase.rawValue,
                packetID: packetID.map(Int.init)
            )
        case .removeMessage(let clientID, let sequence):
            return .removeMessage(clientID: clientID, sequence: sequence)
        }
    }

    private static func replaceAll(_ sessions: [PersistedSession]) throws -> BrokerStateWrite {
        var messages: [BrokerStateWrite.SessionMessageRow] = []
        for session in sessions {
            for (index, message) in session.messages.enumerated() {
                messages.append(try messageRow(message, clientID: session.clientID, fallbackSequence: Int64(index)))
            }
        }
        return .replaceAllSessions(try sessions.map(sessionRow), messages: messages)
    }

    private static func sessionRow(_ session: PersistedSession) throws -> BrokerStateWrite.SessionRow {
        var record = session
        record.messages = []
        return BrokerStateWrite.SessionRow(clientID: session.clientID, metadata: try JSONEncoder().encode(record))
    }

    /// A message's row; one without a sequence (never from a running broker) keeps its position.
    private static func messageRow(
        _ message: PersistedMessage,
        clientID: String,
        fallbackSequence: Int64
    ) throws -> BrokerStateWrite.SessionMessageRow {
        var metadata = message
        metadata.payload = Data()
        return BrokerStateWrite.SessionMessageRow(
            clientID: clientID,
            sequence: message.sequence ?? fallbackSequence,
            phase: message.phase.rawValue,
            packetID: message.packetID.map(Int.init),
            metadata: try JSONEncoder().encode(metadata),
            payload: message.payload
        )
    }

    private static func quoted(_ text: String) -> String { text.replacingOccurrences(of: "'", with: "''") }

    public func loadRetainedMessages() async throws -> [PersistedMessage] {
        if try await store.loadBrokerState(for: Self.retainedKey) != nil {
            let legacy = try await load([PersistedMessage].self, key: Self.retainedKey)
            try await store.applyRetainedChanges(
                upserts: try legacy.map(Self.row),
                deletions: [],
                replacingAll: false,
                removingDocument: Self.retainedKey
            )
        }
        return try await store.loadRetainedRows().map { row in
            var message: PersistedMessage
            do {
                message = try JSONDecoder().decode(PersistedMessage.self, from: row.metadata)
            } catch {
                throw StoreSessionStoreError(
                    "the retained message of topic '\(row.topic)' in \(store.location) cannot be read (\(error)); delete it with: "
                        + store.deletionHint(table: "retained_messages", where: "topic = '\(Self.quoted(row.topic))'")
                )
            }
            message.payload = row.payload
            return message
        }
    }

    public func saveRetainedMessages(_ messages: [PersistedMessage]) async throws {
        try await store.applyRetainedChanges(
            upserts: try messages.map(Self.row),
            deletions: [],
            replacingAll: true,
            removingDocument: nil
        )
    }

    public func saveRetainedChanges(_ changes: RetainedChanges) async throws {
        guard !changes.isEmpty else { return }
        try await store.applyRetainedChanges(
            upserts: try changes.upserts.map(Self.row),
            deletions: changes.deletions,
            replacingAll: false,
            removingDocument: nil
        )
    }

    /// The row of a message: its metadata without the payload, which has its own column.
    private static func row(_ message: PersistedMessage) throws -> BrokerStateWrite.RetainedRow {
        var metadata = message
        metadata.payload = Data()
        return BrokerStateWrite.RetainedRow(
            topic: message.topic,
            metadata: try JSONEncoder().encode(metadata),
            payload: message.payload
        )
    }

    private func load<T: Decodable>(_ type: [T].Type, key: String) async throws -> [T] {
        guard let data = try await store.loadBrokerState(for: key) else { return [] }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw StoreSessionStoreError(
                "the saved MQTT state '\(key)' in \(store.location) cannot be read (\(error)); delete it with: "
                    + store.deletionHint(table: "broker_state", where: "key = '\(Self.quoted(key))'")
            )
        }
    }
}

/// The saved broker state could not be read; the message says how to recover.
struct StoreSessionStoreError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
