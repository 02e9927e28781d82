public import ReflexCore

extension AutomationEngine {
    /// Sends the device's ready commands if it is online (or never reported a status).
    mutating func dispatch(device: DeviceID, at now: Int64, into out: inout [AutomationAction]) {
        guard devices[device]?.online ?? true else { return }
        for command in commands.ready(device: device, at: now) {
            guard let sent = commands.markSent(id: command.id, at: now) else { continue }
            out.append(.command(sent))
            out.append(.publish(sent))
        }
    }

    mutating func onAck(_ device: DeviceID, _ ack: CommandAck, at now: Int64, into out: inout [AutomationAction]) {
        guard let command = commands.acknowledge(device: device, ack, at: now) else { return }
        out.append(.command(command))
        outcomeAudit(command, at: now, into: &out)
        if command.verifyDeadline != nil { checkVerifications(device: device, at: now, into: &out) }
    }

    /// Checks the post-conditions of the device's acknowledged commands.
    mutating func checkVerifications(device: DeviceID, at now: Int64, into out: inout [AutomationAction]) {
        let waiting = commands.awaitingVerification(device: device)
        guard !waiting.isEmpty else { return }
        let ctx = context(device, at: now)
        for command in waiting {
            guard let text = command.verifyWhen else { continue }
            let expression: Expression
            if let cached = verifyCache[text] {
                expression = cached
            } else {
                guard let parsed = try? ExpressionParser.parse(text, expecting: .boolean).expression else { continue }
                verifyCache[text] = parsed
                expression = parsed
            }
            var evaluator = ExpressionEvaluator()
            guard evaluator.condition(expression, in: ctx),
                let verified = commands.markVerified(id: command.id, at: now)
            else { continue }
            out.append(.command(verified))
            outcomeAudit(verified, at: now, inputs: evaluator.inputs, into: &out)
        }
    }

    /// Audits a command's new state.
    mutating func outcomeAudit(
        _ command: Command,
        at now: Int64,
        inputs: [String: Double] = [:],
        into out: inout [AutomationAction]
    ) {
        let rule = command.rule
        let version = command.origin.split(separator: "@").last.flatMap { Int($0) }
        audit(
            AuditEntry(
                at: now,
                device: command.device,
                rule: rule,
                ruleVersion: rule == nil ? nil : version,
                decision: .commandOutcome,
                summary: "Command \(command.id) \(command.name) on \(command.device): \(command.state.rawValue)"
                    + (command.detail.map { " (\($0))" } ?? ""),
                inputs: inputs,
                action: .object([
                    "command": .string(command.id), "name": .string(command.name), "params": .object(command.params),
                ]),
                outcome: command.state.rawValue,
                actor: "system"
            ),
            into: &out
        )
    }

    // MARK: - Operator commands

    /// An operator's command (API/CLI): same lifecycle as rule commands; not subject to override
    /// (the operator *is* the manual control) nor autonomy.
    public mutating func sendCommand(
        device: DeviceID,
        name: String,
        params: [String: JSONValue],
        ttl: Int64?,
        idempotencyKey: String?,
        by actor: String,
        at now: Int64
    ) throws(AutomationError) -> (Command, [AutomationAction]) {
        guard RuleID(validating: name) != nil else {
            throw .invalid("command name '\(name.prefix(64))' must be letters, digits, '-', '_' or '.'")
        }
        if let key = idempotencyKey, let existing = commands.command(idempotencyKey: key) {
            guard existing.device == device, existing.name == name else {
                throw .conflict(
                    "idempotency key '\(key)' was used for command \(existing.id) (\(existing.name) on \(existing.device))"
                )
            }
            return (existing, [])
        }
        var out: [AutomationAction] = []
        let command = commands.submit(
            device: device,
            name: name,
            params: params,
            origin: "operator:\(actor)",
            ttl: ttl ?? 300_000,
            idempotencyKey: idempotencyKey,
            verify: nil,
            needsApproval: false,
            at: now
        )
        out.append(.command(command))
        audit(
            AuditEntry(
                at: now,
                device: device,
                decision: .operatorAction,
                summary: "\(actor) sent \(name) \(JSONValue.object(params)) to \(device)",
                action: .object(["command": .string(command.id), "name": .string(name), "params": .object(params)]),
                outcome: "queued",
                actor: "operator:\(actor)"
            ),
            into: &out
        )
        dispatch(device: device, at: now, into: &out)
        return (commands.commands[command.id] ?? command, out)
    }

    /// Approves a command held for approval: it is queued and sent.
    public mutating func approveCommand(
        id: String,
        by actor: String,
        note: String?,
        at now: Int64
    ) throws(AutomationError) -> (Command, [AutomationAction]) {
        let command = try commands.update(id: id) { (c: inout Command) throws(AutomationError) in
            guard c.state == .pendingApproval else {
                throw .conflict("command \(id) is \(c.state.rawValue), not pending_approval")
            }
            c.transition(to: .queued, at: now, detail: "approved by \(actor)" + (note.map { ": \($0)" } ?? ""))
        }
        var out: [AutomationAction] = [.command(command)]
        audit(
            AuditEntry(
                at: now,
                device: command.device,
                rule: command.rule,
                ruleVersion: nil,
                decision: .approved,
                summary: "\(actor) approved \(command.name) \(JSONValue.object(command.params)) for \(command.device)"
                    + (note.map { ": \($0)" } ?? ""),
                action: .object(["command": .string(id)]),
                outcome: "queued",
                actor: "operator:\(actor)"
            ),
            into: &out
        )
        dispatch(device: command.device, at: now, into: &out)
        return (commands.commands[id] ?? command, out)
    }

    /// Rejects a command held for approval: it is cancelled.
    public mutating func rejectCommand(
        id: String,
        by actor: String,
        reason: String?,
        at now: Int64
    ) throws(AutomationError) -> (Command, [AutomationAction]) {
        let command = try commands.update(id: id) { (c: inout Command) throws(AutomationError) in
            guard c.state == .pendingApproval || c.state == .queued else {
                throw .conflict(
                    "command \(id) is \(c.state.rawValue); only pending_approval or queued commands can be rejected"
                )
            }
            c.transition(to: .cancelled, at: now, detail: "rejected by \(actor)" + (reason.map { ": \($0)" } ?? ""))
        }
        var out: [AutomationAction] = [.command(command)]
        audit(
            AuditEntry(
                at: now,
                device: command.device,
                rule: command.rule,
                ruleVersion: nil,
                decision: .rejected,
                summary: "\(actor) rejected \(command.name) for \(command.device)" + (reason.map { ": \($0)" } ?? ""),
                action: .object(["command": .string(id)]),
                outcome: "cancelled",
                actor: "operator:\(actor)"
            ),
            into: &out
        )
        return (command, out)
    }
}
