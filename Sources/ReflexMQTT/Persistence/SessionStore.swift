/// Where the broker keeps what must survive a restart: persistent sessions (subscriptions and
/// queued QoS 1/2 messages of clients that asked for a session to outlive their connection) and
/// retained messages.
///
/// The broker loads everything once at start and hands a full snapshot to the save methods
/// periodically (when something changed) and at shutdown. Implementations must write
/// atomically: a crash during a save leaves the previous snapshot intact. `ReflexStore` will
/// provide a database-backed implementation; ``FileSessionStore`` keeps JSON snapshots under the
/// data directory.
public protocol SessionStore: Sendable {
    func loadSessions() async throws -> [PersistedSession]
    func saveSessions(_ sessions: [PersistedSession]) async throws
    func loadRetainedMessages() async throws -> [PersistedMessage]
    func saveRetainedMessages(_ messages: [PersistedMessage]) async throws
}
