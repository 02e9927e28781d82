import Foundation
public import ReflexMQTT
public import ReflexStore

/// Keeps the broker's persistent sessions and retained messages in the sample store's database
/// (`samples.sqlite`), so one file holds everything a node must not lose.
///
/// - Sessions: one document in table `broker_state`, replaced whole in one durable transaction.
/// - Retained messages: one row per topic in table `retained_messages` (metadata as JSON, the
///   payload as a blob), written incrementally: a save inserts, replaces or deletes the rows of
///   the topics that changed, so one small retained publish no longer rewrites every large
///   retained message. Each save is one durable transaction.
///
/// Nodes that saved retained messages as one document (`mqtt.retained.v1`, before rows) are
/// migrated at the first load: the document's messages become rows and the document is deleted,
/// in one transaction.
public struct StoreSessionStore: SessionStore {
    let store: SQLiteSampleStore

    public init(store: SQLiteSampleStore) {
        self.store = store
    }

    static let sessionsKey = "mqtt.sessions.v1"
    /// The legacy one-document form of the retained messages.
    static let retainedKey = "mqtt.retained.v1"

    public func loadSessions() async throws -> [PersistedSession] {
        try await load([PersistedSession].self, key: Self.sessionsKey)
    }

    public func saveSessions(_ sessions: [PersistedSession]) async throws {
        try await store.saveBrokerState(try JSONEncoder().encode(sessions), for: Self.sessionsKey)
    }

    public func loadRetainedMessages() async throws -> [PersistedMessage] {
        if try await store.loadBrokerState(for: Self.retainedKey) != nil {
            let legacy = try await load([PersistedMessage].self, key: Self.retainedKey)
            try await store.applyRetainedChanges(
                upserts: try legacy.map(Self.row),
                deletions: [],
                removingDocument: Self.retainedKey
            )
        }
        return try await store.loadRetainedRows().map { row in
            var message: PersistedMessage
            do {
                message = try JSONDecoder().decode(PersistedMessage.self, from: row.metadata)
            } catch {
                throw StoreSessionStoreError(
                    "the retained message of topic '\(row.topic)' in \(store.path) cannot be read (\(error)); "
                        + "delete it with: sqlite3 '\(store.path)' \"DELETE FROM retained_messages WHERE topic = "
                        + "'\(row.topic.replacingOccurrences(of: "'", with: "''"))'\""
                )
            }
            message.payload = row.payload
            return message
        }
    }

    public func saveRetainedMessages(_ messages: [PersistedMessage]) async throws {
        try await store.applyRetainedChanges(upserts: try messages.map(Self.row), deletions: [], replacingAll: true)
    }

    public func saveRetainedChanges(_ changes: RetainedChanges) async throws {
        guard !changes.isEmpty else { return }
        try await store.applyRetainedChanges(upserts: try changes.upserts.map(Self.row), deletions: changes.deletions)
    }

    /// The row of a message: its metadata without the payload, which has its own column.
    private static func row(_ message: PersistedMessage) throws -> SQLiteSampleStore.RetainedRow {
        var metadata = message
        metadata.payload = Data()
        return SQLiteSampleStore.RetainedRow(
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
                "the saved MQTT state '\(key)' in \(store.path) cannot be read (\(error)); "
                    + "delete it with: sqlite3 '\(store.path)' \"DELETE FROM broker_state WHERE key = '\(key)'\""
            )
        }
    }
}

/// The saved broker state could not be read; the message says how to recover.
struct StoreSessionStoreError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
