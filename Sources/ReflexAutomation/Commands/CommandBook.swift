public import ReflexCore

/// Every command's lifecycle state machine: events in (submit, approve, publish, ack, tick),
/// changed commands out. No I/O: the engine turns "ready to send" into a publish action.
///
/// Retries: an unacknowledged send is retried after `ackTimeout × 2^(attempts-1)`, up to
/// `maxAttempts`, then `failed`; any unfinished command `expired` at its TTL. Commands wait in
/// `queued` while their device is offline. Idempotency keys return the existing command.
public struct CommandBook: Sendable {
    /// Commands by id (unfinished and recent finished ones).
    public private(set) var commands: [String: Command] = [:]
    private var order: [String] = []
    private var byKey: [String: String] = [:]
    private var nextNumber: Int
    public var ackTimeout: Int64 = 10_000
    public var maxAttempts = 3
    public var retained = 2000

    public init(firstNumber: Int = 1) {
        nextNumber = firstNumber
    }

    /// Puts back a command loaded from storage.
    public mutating func restore(_ command: Command) {
        if commands[command.id] == nil { order.append(command.id) }
        commands[command.id] = command
        if let key = command.idempotencyKey { byKey[key] = command.id }
        if let n = Int(command.id.drop(while: { !$0.isNumber })), n >= nextNumber { nextNumber = n + 1 }
    }

    /// The command with an idempotency key, if one was made.
    public func command(idempotencyKey key: String) -> Command? {
        byKey[key].flatMap { commands[$0] }
    }

    /// Creates a command in `queued` (or `pending_approval`).
    public mutating func submit(
        device: DeviceID,
        name: String,
        params: [String: JSONValue],
        origin: String,
        ttl: Int64,
        idempotencyKey: String?,
        verify: Verification?,
        needsApproval: Bool,
        at now: Int64
    ) -> Command {
        let state: CommandState = needsApproval ? .pendingApproval : .queued
        let command = Command(
            id: "c\(nextNumber)",
            device: device,
            name: name,
            params: params,
            state: state,
            origin: origin,
            createdAt: now,
            updatedAt: now,
            expiresAt: now + ttl,
            attempts: 0,
            idempotencyKey: idempotencyKey,
            detail: needsApproval ? "waiting for an operator's approval" : nil,
            history: [CommandHistoryEntry(at: now, state: state, detail: "from \(origin)")],
            verifyWhen: verify?.condition.text,
            verifyWithin: verify?.within,
            verifyDeadline: nil,
            nextAttemptAt: nil,
            ackDeadline: nil
        )
        nextNumber += 1
        commands[command.id] = command
        order.append(command.id)
        if let idempotencyKey { byKey[idempotencyKey] = command.id }
        trim()
        return command
    }

    private mutating func trim() {
        guard order.count > retained else { return }
        var keep: [String] = []
        var excess = order.count - retained
        for id in order {
            if excess > 0, let c = commands[id], c.isFinished {
                commands[id] = nil
                if let key = c.idempotencyKey { byKey[key] = nil }
                excess -= 1
            } else {
                keep.append(id)
            }
        }
        order = keep
    }

    /// Applies `change` to a command and returns it.
    public mutating func update(
        id: String,
        _ change: (inout Command) throws(AutomationError) -> Void
    ) throws(AutomationError) -> Command {
        guard var command = commands[id] else { throw .notFound("no command '\(id)'") }
        try change(&command)
        commands[id] = command
        return command
    }

    /// Commands ready to be sent now to `device` (queued, backoff passed).
    public func ready(device: DeviceID, at now: Int64) -> [Command] {
        order.compactMap { commands[$0] }.filter {
            $0.device == device && $0.state == .queued && ($0.nextAttemptAt ?? 0) <= now && $0.expiresAt > now
        }
    }

    /// Every device with a command ready to send.
    public func devicesWithReadyCommands(at now: Int64) -> Set<DeviceID> {
        Set(commands.values.filter { $0.state == .queued && ($0.nextAttemptAt ?? 0) <= now }.map(\.device))
    }

    /// Marks a command as sent (attempt counted, ack deadline set).
    public mutating func markSent(id: String, at now: Int64) -> Command? {
        guard var command = commands[id], command.state == .queued else { return nil }
        command.attempts += 1
        command.ackDeadline = now + ackTimeout * Int64(1 << min(command.attempts - 1, 10))
        command.nextAttemptAt = nil
        command.transition(to: .sent, at: now, detail: "attempt \(command.attempts) of \(maxAttempts)")
        commands[id] = command
        return command
    }

    /// The broker routed the message to `subscribers` sessions: delivered if at least one.
    public mutating func markPublished(id: String, subscribers: Int, at now: Int64) -> Command? {
        guard var command = commands[id], command.state == .sent, subscribers > 0 else { return nil }
        command.transition(to: .delivered, at: now, detail: "routed to the device's subscription")
        commands[id] = command
        return command
    }

    /// A device's ack. Returns the changed command, or nil for an unknown or finished one.
    public mutating func acknowledge(device: DeviceID, _ ack: CommandAck, at now: Int64) -> Command? {
        guard var command = commands[ack.id], command.device == device, !command.state.isFinal else { return nil }
        switch ack.status {
        case .rejected:
            command.transition(to: .rejected, at: now, detail: ack.detail ?? "rejected by the device")
        case .accepted:
            guard command.state != .done else { return nil }
            command.transition(to: .accepted, at: now, detail: ack.detail)
        case .done:
            command.transition(to: .done, at: now, detail: ack.detail)
        }
        command.ackDeadline = nil
        if ack.status != .rejected, command.verifyDeadline == nil, let within = command.verifyWithin {
            command.verifyDeadline = now + within
        }
        commands[ack.id] = command
        return command
    }

    /// Commands of `device` waiting for their post-condition.
    public func awaitingVerification(device: DeviceID) -> [Command] {
        commands.values.filter { $0.device == device && $0.verifyDeadline != nil && !$0.state.isFinal }
    }

    /// Marks a command verified.
    public mutating func markVerified(id: String, at now: Int64) -> Command? {
        guard var command = commands[id], !command.state.isFinal else { return nil }
        command.verifyDeadline = nil
        command.transition(to: .verified, at: now, detail: "'\(command.verifyWhen ?? "")' held")
        commands[id] = command
        return command
    }

    /// Time passes: lost sends are retried or failed, TTLs expire, verifications time out.
    public mutating func tick(at now: Int64) -> [Command] {
        var changed: [Command] = []
        for id in order {
            guard var command = commands[id], !command.state.isFinal else { continue }
            if let deadline = command.verifyDeadline, deadline <= now {
                command.verifyDeadline = nil
                command.transition(
                    to: .failed,
                    at: now,
                    detail:
                        "verification '\(command.verifyWhen ?? "")' did not hold within \(DurationText.format(command.verifyWithin ?? 0))"
                )
            } else if command.verifyDeadline == nil, command.state != .done, command.state != .accepted,
                command.expiresAt <= now
            {
                command.transition(to: .expired, at: now, detail: "time to live passed before the device acknowledged")
            } else if command.state == .sent || command.state == .delivered, let deadline = command.ackDeadline,
                deadline <= now
            {
                command.ackDeadline = nil
                if command.attempts >= maxAttempts {
                    command.transition(
                        to: .failed,
                        at: now,
                        detail: "no acknowledgement after \(command.attempts) attempts"
                    )
                } else {
                    command.nextAttemptAt = now + ackTimeout * Int64(1 << min(command.attempts - 1, 10))
                    command.transition(to: .queued, at: now, detail: "no acknowledgement; retrying")
                }
            } else {
                continue
            }
            commands[id] = command
            changed.append(command)
        }
        return changed
    }

    /// Commands, newest first, optionally filtered.
    public func list(device: DeviceID? = nil, state: CommandState? = nil, limit: Int = 100) -> [Command] {
        var out: [Command] = []
        for id in order.reversed() {
            guard let c = commands[id] else { continue }
            if let device, c.device != device { continue }
            if let state, c.state != state { continue }
            out.append(c)
            if out.count >= limit { break }
        }
        return out
    }
}
