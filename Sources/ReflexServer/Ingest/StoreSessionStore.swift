import Foundation
public import ReflexMQTT
public import ReflexStore

/// Keeps the broker's persistent sessions and retained messages in the sample store's database
/// (`samples.sqlite`, table `broker_state`), so one file holds everything a node must not lose.
/// Each save replaces the whole document in one durable SQLite transaction.
public struct StoreSessionStore: SessionStore {
    let store: SQLiteSampleStore

    public init(store: SQLiteSampleStore) {
        self.store = store
    }

    static let sessionsKey = "mqtt.sessions.v1"
    static let retainedKey = "mqtt.retained.v1"

    public func loadSessions() async throws -> [PersistedSession] {
        try await load([PersistedSession].self, key: Self.sessionsKey)
    }

    public func saveSessions(_ sessions: [PersistedSession]) async throws {
        try await store.saveBrokerState(try JSONEncoder().encode(sessions), for: Self.sessionsKey)
    }

    public func loadRetainedMessages() async throws -> [PersistedMessage] {
        try await load([PersistedMessage].self, key: Self.retainedKey)
    }

    public func saveRetainedMessages(_ messages: [PersistedMessage]) async throws {
        try await store.saveBrokerState(try JSONEncoder().encode(messages), for: Self.retainedKey)
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
