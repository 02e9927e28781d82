/// Where the broker keeps what must survive a restart: persistent sessions (subscriptions and
/// queued QoS 1/2 messages of clients that asked for a session to outlive their connection) and
/// retained messages.
///
/// The broker loads everything once at start and saves periodically (when something changed) and
/// at shutdown: the sessions as a full snapshot (``saveSessions(_:)``), the retained messages as
/// the changes since the last save (``saveRetainedChanges(_:)``, one entry per changed topic),
/// so a tiny retained publish does not rewrite every large retained message. Implementations must
/// write atomically: a crash during a save leaves the previous state intact. `ReflexStore` will
/// provide a database-backed implementation; ``FileSessionStore`` keeps JSON snapshots under the
/// data directory.
public protocol SessionStore: Sendable {
    func loadSessions() async throws -> [PersistedSession]
    func saveSessions(_ sessions: [PersistedSession]) async throws
    func loadRetainedMessages() async throws -> [PersistedMessage]
    /// Replaces every retained message.
    func saveRetainedMessages(_ messages: [PersistedMessage]) async throws
    /// Applies the changes since the last save: upserts replace the message of their topic,
    /// deletions remove it; the rest stay as they are. The default reads every message, applies
    /// the changes and saves them all (fine for a one-document store); row stores override it.
    func saveRetainedChanges(_ changes: RetainedChanges) async throws
    /// Applies one batch in one durable transaction: when it returns, every change in it
    /// survives a crash (the broker then sends the PUBACKs and SUBACKs waiting for it); when it
    /// throws, none of it was applied. The default rewrites the sessions with
    /// ``saveSessions(_:)`` and the retained changes with ``saveRetainedChanges(_:)`` (two
    /// writes, fine for a one-document store); row stores override it.
    func apply(_ batch: BrokerStateBatch) async throws
}

extension SessionStore {
    /// Applies `changes` by reading every retained message, editing the list and saving it whole
    /// with ``saveRetainedMessages(_:)``: correct for any store, incremental for none.
    public func saveRetainedChanges(_ changes: RetainedChanges) async throws {
        guard !changes.isEmpty else { return }
        var messages = try await loadRetainedMessages()
        let replaced = Set(changes.upserts.map(\.topic)).union(changes.deletions)
        messages.removeAll { replaced.contains($0.topic) }
        messages += changes.upserts
        try await saveRetainedMessages(messages)
    }

    /// Applies `batch` by reading the sessions, applying the changes in memory
    /// (``Swift/Array/applying(_:)``) and saving them whole, then the retained changes.
    public func apply(_ batch: BrokerStateBatch) async throws {
        if !batch.sessionChanges.isEmpty {
            let sessions: [PersistedSession]
            if case .replaceAll(let all) = batch.sessionChanges.first, batch.sessionChanges.count == 1 {
                sessions = all
            } else {
                sessions = try await loadSessions().applying(batch.sessionChanges)
            }
            try await saveSessions(sessions)
        }
        try await saveRetainedChanges(batch.retained)
    }
}

/// Retained messages changed since the last save, at most one entry per topic.
public struct RetainedChanges: Sendable, Equatable {
    /// Messages to store, replacing the one of their topic.
    public var upserts: [PersistedMessage]
    /// Topics whose retained message was deleted (or expired).
    public var deletions: [String]

    /// - Parameters:
    ///   - upserts: messages to store, at most one per topic.
    ///   - deletions: topics whose retained message is gone; none of them among `upserts`.
    public init(upserts: [PersistedMessage] = [], deletions: [String] = []) {
        self.upserts = upserts
        self.deletions = deletions
    }

    /// Whether there is nothing to write.
    public var isEmpty: Bool { upserts.isEmpty && deletions.isEmpty }
}
