public import ReflexAutomation
public import ReflexCore

/// What an operator can do to the loop: acknowledge, shelve and annotate alarms; send, approve
/// and reject commands; take a device into manual and back; switch autonomy; change rules.
///
/// Every action names who did it (`by`), is decided by the engine at the node's current time,
/// is persisted and audited, and returns its result; a refused action throws
/// ``AutomationError`` saying why (unknown id, wrong state, invalid rule). The HTTP API and the
/// demo's maintenance crew go through this protocol, never through the engine, so that a later
/// cluster can route an action to the node that owns the device.
///
/// ``AutomationService`` conforms.
public protocol OperatorActions: Sendable {
    /// The node's wall-clock time in ms since the epoch, at which actions are decided.
    func currentTime() -> Int64
    /// The engine's state now (alarms, commands, overrides, rules, autonomy), a copy.
    var snapshot: AutomationEngine { get }

    /// Acknowledges an alarm.
    func acknowledgeAlarm(id: String, note: String?, by actor: String) throws(AutomationError) -> Alarm
    /// Shelves an alarm for `duration` ms: it stays, silenced, until then.
    func shelveAlarm(
        id: String,
        for duration: Int64,
        reason: String?,
        by actor: String
    ) throws(AutomationError)
        -> Alarm
    /// Ends an alarm's shelving.
    func unshelveAlarm(id: String, by actor: String) throws(AutomationError) -> Alarm
    /// Adds a note to an alarm's history.
    func noteAlarm(id: String, text: String, by actor: String) throws(AutomationError) -> Alarm

    /// Sends a command through the safety checks, and publishes it if they pass; returns the
    /// command as it is after publishing (sent, or awaiting approval, or refused).
    func sendCommand(
        device: DeviceID,
        name: String,
        params: [String: JSONValue],
        ttl: Int64?,
        idempotencyKey: String?,
        by actor: String
    ) async throws(AutomationError) -> Command
    /// Approves a command that awaits approval and publishes it.
    func approveCommand(id: String, note: String?, by actor: String) async throws(AutomationError) -> Command
    /// Rejects a command that awaits approval.
    func rejectCommand(id: String, reason: String?, by actor: String) throws(AutomationError) -> Command

    /// Takes a device into manual: automation sends it nothing until released or `duration` ms
    /// have passed (nil: until released).
    func setOverride(device: DeviceID, reason: String, for duration: Int64?, by actor: String) -> Override
    /// Returns a device to automatic.
    func releaseOverride(device: DeviceID, by actor: String)
    /// Switches autonomy (automatic commands) on or off for the whole node.
    func setAutonomy(enabled: Bool, reason: String?, by actor: String) -> AutonomySwitch

    /// Creates or replaces an API rule from its YAML text; an invalid text is kept with its errors.
    func putRule(_ id: RuleID, text: String) throws(AutomationError) -> RuleRecord
    /// Deletes an API rule.
    func deleteRule(_ id: RuleID) throws(AutomationError)
    /// Enables, disables or sets dry-run on a rule.
    func setRuleFlags(
        _ id: RuleID,
        enabled: Bool?,
        dryRun: Bool?,
        by actor: String
    ) throws(AutomationError)
        -> RuleRecord
}

extension AutomationService: OperatorActions {
    public func currentTime() -> Int64 { now() }

    public func acknowledgeAlarm(id: String, note: String?, by actor: String) throws(AutomationError) -> Alarm {
        try withEngine { engine, now throws(AutomationError) in
            try engine.acknowledgeAlarm(id: id, by: actor, note: note, at: now)
        }.0
    }

    public func shelveAlarm(
        id: String,
        for duration: Int64,
        reason: String?,
        by actor: String
    )
        throws(AutomationError) -> Alarm
    {
        try withEngine { engine, now throws(AutomationError) in
            try engine.shelveAlarm(id: id, until: now + duration, reason: reason, by: actor, at: now)
        }.0
    }

    public func unshelveAlarm(id: String, by actor: String) throws(AutomationError) -> Alarm {
        try withEngine { engine, now throws(AutomationError) in
            try engine.unshelveAlarm(id: id, by: actor, at: now)
        }.0
    }

    public func noteAlarm(id: String, text: String, by actor: String) throws(AutomationError) -> Alarm {
        try withEngine { engine, now throws(AutomationError) in
            try engine.noteAlarm(id: id, text: text, by: actor, at: now)
        }.0
    }

    public func sendCommand(
        device: DeviceID,
        name: String,
        params: [String: JSONValue],
        ttl: Int64?,
        idempotencyKey: String?,
        by actor: String
    ) async throws(AutomationError) -> Command {
        try await decideAndPublish { engine, now throws(AutomationError) in
            try engine.sendCommand(
                device: device,
                name: name,
                params: params,
                ttl: ttl,
                idempotencyKey: idempotencyKey,
                by: actor,
                at: now
            )
        }
    }

    public func approveCommand(id: String, note: String?, by actor: String) async throws(AutomationError) -> Command {
        try await decideAndPublish { engine, now throws(AutomationError) in
            try engine.approveCommand(id: id, by: actor, note: note, at: now)
        }
    }

    public func rejectCommand(id: String, reason: String?, by actor: String) throws(AutomationError) -> Command {
        try withEngine { engine, now throws(AutomationError) in
            try engine.rejectCommand(id: id, by: actor, reason: reason, at: now)
        }.0
    }

    public func setOverride(device: DeviceID, reason: String, for duration: Int64?, by actor: String) -> Override {
        update { engine, now in
            engine.setOverride(device: device, reason: reason, until: duration.map { now + $0 }, by: actor, at: now)
        }.0
    }

    public func releaseOverride(device: DeviceID, by actor: String) {
        _ = update { engine, now in ((), engine.releaseOverride(device: device, by: actor, at: now)) }
    }

    public func setAutonomy(enabled: Bool, reason: String?, by actor: String) -> AutonomySwitch {
        _ = update { engine, now in ((), engine.setAutonomy(enabled: enabled, reason: reason, by: actor, at: now)) }
        return snapshot.autonomy
    }

    public func putRule(_ id: RuleID, text: String) throws(AutomationError) -> RuleRecord {
        try withEngine { engine, now throws(AutomationError) in try engine.putRule(id, text: text, at: now) }.0
    }

    public func deleteRule(_ id: RuleID) throws(AutomationError) {
        _ = try withEngine { engine, _ throws(AutomationError) in ((), try engine.deleteRule(id)) }
    }

    public func setRuleFlags(
        _ id: RuleID,
        enabled: Bool?,
        dryRun: Bool?,
        by actor: String
    ) throws(AutomationError)
        -> RuleRecord
    {
        try withEngine { engine, now throws(AutomationError) in
            try engine.setRuleFlags(id, enabled: enabled, dryRun: dryRun, by: actor, at: now)
        }.0
    }

    /// Decides a command action, publishes what it sends, and returns the command after that.
    private func decideAndPublish(
        _ body: (inout AutomationEngine, Int64) throws(AutomationError) -> (Command, [AutomationAction])
    ) async throws(AutomationError) -> Command {
        let (command, actions) = try withEngine(body)
        await perform(actions)
        return snapshot.commands.commands[command.id] ?? command
    }
}
