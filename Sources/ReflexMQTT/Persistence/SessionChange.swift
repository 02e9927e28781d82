/// One change to the stored persistent sessions, written in order with the others of a
/// ``BrokerStateBatch``.
///
/// The broker records these as it works: a QoS 1/2 message routed to a persistent session is
/// appended (``appendMessage(clientID:message:)``) and must be durable before the publisher's
/// PUBACK/PUBREC; acknowledgements by the subscriber remove it later, lazily. A periodic
/// ``replaceAll(_:)`` rewrites every session whole and repairs anything a lazy change missed.
public enum SessionChange: Sendable, Equatable {
    /// Every persistent session as it is now, messages included; stored sessions not in the
    /// list are deleted.
    case replaceAll([PersistedSession])
    /// Inserts or replaces the record of one session (its subscriptions, expiry, incoming QoS 2
    /// ids, owner); its stored messages are kept and the session's `messages` are ignored.
    case upsertSession(PersistedSession)
    /// The session ended: its record and every message it had are deleted.
    case removeSession(clientID: String)
    /// Stores one queued or in-flight message of a session; `message.sequence` is its key
    /// (insert or replace).
    case appendMessage(clientID: String, message: PersistedMessage)
    /// Records that a stored message was sent (phase `awaitingAck` with its packet id) or got
    /// its PUBREC (`awaitingComplete`).
    case updateMessage(clientID: String, sequence: Int64, phase: PersistedMessage.Phase, packetID: UInt16?)
    /// The subscriber acknowledged the message (or it expired): it is deleted.
    case removeMessage(clientID: String, sequence: Int64)
}

/// What one write of the broker's state holds: session changes, in the order they happened,
/// and the retained messages changed since the previous write. A ``SessionStore`` applies a
/// batch in one durable transaction.
public struct BrokerStateBatch: Sendable, Equatable {
    /// Applied in order.
    public var sessionChanges: [SessionChange]
    /// Independent of the sessions; at most one entry per topic.
    public var retained: RetainedChanges

    /// - Parameters:
    ///   - sessionChanges: changes to persistent sessions, in the order they happened.
    ///   - retained: retained-message changes.
    public init(sessionChanges: [SessionChange] = [], retained: RetainedChanges = RetainedChanges()) {
        self.sessionChanges = sessionChanges
        self.retained = retained
    }

    /// Whether there is nothing to write.
    public var isEmpty: Bool { sessionChanges.isEmpty && retained.isEmpty }
}
