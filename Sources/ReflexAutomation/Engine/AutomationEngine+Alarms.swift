public import ReflexCore

extension AutomationEngine {
    /// Acknowledges an active alarm.
    public mutating func acknowledgeAlarm(
        id: String,
        by actor: String,
        note: String?,
        at now: Int64
    ) throws(AutomationError) -> (Alarm, [AutomationAction]) {
        let alarm = try alarms.update(id: id, at: now) { (a: inout Alarm) throws(AutomationError) in
            guard a.state == .active else { throw .conflict("alarm \(id) is \(a.state.rawValue), not active") }
            a.state = .acknowledged
            a.acknowledgedAt = now
            a.acknowledgedBy = actor
            a.history.append(AlarmHistoryEntry(at: now, state: "acknowledged", by: actor, detail: note))
            if let note, !note.isEmpty { a.notes.append(AlarmNote(at: now, by: actor, text: note)) }
        }
        return (
            alarm,
            operatorAudit(alarm, "\(actor) acknowledged alarm \(alarm.type) on \(alarm.device)", actor: actor, at: now)
        )
    }

    /// Shelves an open alarm until `until` (it stays open but is hidden from the active view).
    public mutating func shelveAlarm(
        id: String,
        until: Int64,
        reason: String?,
        by actor: String,
        at now: Int64
    ) throws(AutomationError) -> (Alarm, [AutomationAction]) {
        guard until > now else { throw .invalid("shelving must last longer than 0") }
        let alarm = try alarms.update(id: id, at: now) { (a: inout Alarm) throws(AutomationError) in
            guard a.isOpen else { throw .conflict("alarm \(id) is cleared; only open alarms can be shelved") }
            a.shelvedUntil = until
            a.history.append(AlarmHistoryEntry(at: now, state: "shelved", by: actor, detail: reason))
        }
        return (
            alarm,
            operatorAudit(
                alarm,
                "\(actor) shelved alarm \(alarm.type) on \(alarm.device) for \(DurationText.format(until - now))"
                    + (reason.map { ": \($0)" } ?? ""),
                actor: actor,
                at: now
            )
        )
    }

    /// Ends the shelving of an alarm.
    public mutating func unshelveAlarm(
        id: String,
        by actor: String,
        at now: Int64
    ) throws(AutomationError) -> (
        Alarm, [AutomationAction]
    ) {
        let alarm = try alarms.update(id: id, at: now) { (a: inout Alarm) throws(AutomationError) in
            guard a.shelvedUntil != nil else { throw .conflict("alarm \(id) is not shelved") }
            a.shelvedUntil = nil
            a.history.append(AlarmHistoryEntry(at: now, state: "unshelved", by: actor, detail: nil))
        }
        return (
            alarm,
            operatorAudit(alarm, "\(actor) unshelved alarm \(alarm.type) on \(alarm.device)", actor: actor, at: now)
        )
    }

    /// Adds a note to an alarm.
    public mutating func noteAlarm(
        id: String,
        text: String,
        by actor: String,
        at now: Int64
    ) throws(AutomationError) -> (
        Alarm, [AutomationAction]
    ) {
        guard !text.isEmpty else { throw .invalid("the note is empty") }
        let alarm = try alarms.update(id: id, at: now) { (a: inout Alarm) throws(AutomationError) in
            a.notes.append(AlarmNote(at: now, by: actor, text: String(text.prefix(2000))))
            a.history.append(AlarmHistoryEntry(at: now, state: "note", by: actor, detail: String(text.prefix(200))))
        }
        return (
            alarm,
            operatorAudit(alarm, "\(actor) noted on alarm \(alarm.type): \(text.prefix(200))", actor: actor, at: now)
        )
    }

    /// Raises an alarm directly (used by tests and by components other than rules); one per episode.
    public mutating func raiseAlarm(
        device: DeviceID,
        type: String,
        severity: AlarmSeverity,
        message: String,
        rule: String? = nil,
        at now: Int64
    ) -> [AutomationAction] {
        guard
            let alarm = alarms.raise(
                device: device,
                type: type,
                severity: severity,
                rule: rule,
                message: message,
                at: now
            )
        else { return [] }
        var out: [AutomationAction] = [.alarm(alarm)]
        audit(
            AuditEntry(
                at: now,
                device: device,
                rule: rule,
                ruleVersion: nil,
                decision: .alarmRaised,
                summary: "Raised \(severity.rawValue) alarm \(type) on \(device): \(message)",
                outcome: "alarm \(alarm.id) active",
                actor: rule == nil ? "system" : "rule"
            ),
            into: &out
        )
        return out
    }

    private mutating func operatorAudit(
        _ alarm: Alarm,
        _ summary: String,
        actor: String,
        at now: Int64
    ) -> [AutomationAction] {
        var out: [AutomationAction] = [.alarm(alarm)]
        audit(
            AuditEntry(
                at: now,
                device: alarm.device,
                rule: alarm.rule,
                ruleVersion: nil,
                decision: .operatorAction,
                summary: summary,
                action: .object(["alarm": .string(alarm.id)]),
                outcome: alarm.state.rawValue,
                actor: "operator:\(actor)"
            ),
            into: &out
        )
        return out
    }
}
