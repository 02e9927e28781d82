/// Where the broker keeps persistent sessions (subscriptions and queued QoS 1/2 messages of
/// clients that asked for a session to outlive their connection) so they survive a restart.
///
/// The broker loads everything once at start with ``loadSessions()`` and hands a full snapshot
/// to ``saveSessions(_:)`` periodically and at shutdown. Implementations must write atomically
/// (a crash during a save leaves the previous snapshot intact). `ReflexStore` will provide a
/// database-backed implementation; ``FileSessionStore`` keeps a JSON snapshot under the data
/// directory.
public protocol SessionStore: Sendable {
    func loadSessions() async throws -> [PersistedSession]
    func saveSessions(_ sessions: [PersistedSession]) async throws
}
