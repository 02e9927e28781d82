public import ReflexCore

/// A command's place in its lifecycle:
/// (pending_approval →) queued → sent → delivered → accepted/done/rejected → verified, or
/// failed/expired/cancelled.
public enum CommandState: String, Sendable, Hashable, Codable, CaseIterable {
    case pendingApproval = "pending_approval"
    case queued, sent, delivered, accepted, done, rejected, verified, failed, expired, cancelled

    /// No further transition happens (a `done` command waiting for verification is not final).
    public var isFinal: Bool {
        switch self {
        case .rejected, .verified, .failed, .expired, .cancelled: true
        case .pendingApproval, .queued, .sent, .delivered, .accepted, .done: false
        }
    }
}

/// One step of a command's history.
public struct CommandHistoryEntry: Sendable, Hashable, Codable {
    public var at: Int64
    public var state: CommandState
    public var detail: String?

    public init(at: Int64, state: CommandState, detail: String?) {
        self.at = at
        self.state = state
        self.detail = detail
    }
}

/// A command to a device, from a rule, an operator or the fail-safe; all take the same path.
public struct Command: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var device: DeviceID
    public var name: String
    public var params: [String: JSONValue]
    public var state: CommandState
    /// `rule:pump-overheat@3`, `operator:alice` or `fail-safe`.
    public var origin: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var expiresAt: Int64
    /// How many times it was sent.
    public var attempts: Int
    public var idempotencyKey: String?
    public var detail: String?
    public var history: [CommandHistoryEntry]
    /// The post-condition's text and time limit, if any.
    public var verifyWhen: String?
    public var verifyWithin: Int64?
    /// When the post-condition must have held (set on the device's ack).
    public var verifyDeadline: Int64?
    /// When to send (again): after a backoff, or nil for now.
    public var nextAttemptAt: Int64?
    /// When an unacknowledged send counts as lost.
    public var ackDeadline: Int64?

    /// Final, or done with no verification pending.
    public var isFinished: Bool { state.isFinal || (state == .done && verifyDeadline == nil) }

    /// The rule id, for commands a rule made.
    public var rule: String? {
        guard origin.hasPrefix("rule:") else { return nil }
        return String(origin.dropFirst(5).prefix { $0 != "@" })
    }

    mutating func transition(to state: CommandState, at now: Int64, detail: String? = nil) {
        self.state = state
        updatedAt = now
        if let detail { self.detail = detail }
        history.append(CommandHistoryEntry(at: now, state: state, detail: detail))
    }
}

/// What Reflex publishes on `devices/{id}/commands/{name}`.
public struct CommandMessage: Sendable, Hashable, Codable {
    public var id: String
    public var params: [String: JSONValue]
    public var expiresAt: Int64

    public init(id: String, params: [String: JSONValue], expiresAt: Int64) {
        self.id = id
        self.params = params
        self.expiresAt = expiresAt
    }
}

/// What a device publishes on `devices/{id}/commands/{name}/ack`.
public struct CommandAck: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case accepted, done, rejected
    }

    public var id: String
    public var status: Status
    public var detail: String?

    public init(id: String, status: Status, detail: String? = nil) {
        self.id = id
        self.status = status
        self.detail = detail
    }
}
