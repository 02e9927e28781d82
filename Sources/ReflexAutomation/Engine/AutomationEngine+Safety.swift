public import ReflexCore

extension AutomationEngine {
    func policy(for device: DeviceID) -> FailSafePolicy? {
        devices[device]?.info.flatMap { failSafePolicies[$0.type] }
    }

    /// Puts the device in its safe state: sends the policy's command unless autonomy is off or
    /// the device is in manual (both audited).
    mutating func applyFailSafe(
        _ device: DeviceID,
        policy: FailSafePolicy,
        reason: String,
        at now: Int64,
        into out: inout [AutomationAction]
    ) {
        guard devices[device]?.failSafe.active != true else { return }
        devices[device, default: DeviceState()].failSafe = FailSafeState(active: true, reason: reason, since: now)
        let described = "\(policy.command) \(JSONValue.object(policy.params))"
        let action: JSONValue = .object(["name": .string(policy.command), "params": .object(policy.params)])
        func entry(_ decision: AuditDecision, _ summary: String, outcome: String) -> AuditEntry {
            AuditEntry(
                at: now,
                device: device,
                decision: decision,
                summary: summary,
                action: action,
                outcome: outcome,
                actor: "system"
            )
        }
        if !autonomy.enabled {
            audit(
                entry(
                    .suppressedAutonomyOff,
                    "Fail-safe for \(device) (\(reason)) not sent: autonomy is off",
                    outcome: "suppressed"
                ),
                into: &out
            )
            return
        }
        if let o = overrides[device], o.isActive(at: now) {
            audit(
                entry(
                    .suppressedOverride,
                    "Fail-safe for \(device) (\(reason)) not sent: manual override by \(o.by) (\(o.reason))",
                    outcome: "suppressed"
                ),
                into: &out
            )
            return
        }
        let command = commands.submit(
            device: device,
            name: policy.command,
            params: policy.params,
            origin: "fail-safe",
            ttl: 3_600_000,
            idempotencyKey: nil,
            verify: nil,
            needsApproval: false,
            at: now
        )
        out.append(.command(command))
        audit(
            entry(
                .failSafe,
                "Fail-safe: sent \(described) to \(device) because \(reason)",
                outcome: "command \(command.id) queued"
            ),
            into: &out
        )
        dispatch(device: device, at: now, into: &out)
    }

    mutating func releaseFailSafe(
        _ device: DeviceID,
        because why: String,
        at now: Int64,
        into out: inout [AutomationAction]
    ) {
        guard let state = devices[device]?.failSafe, state.active else { return }
        devices[device]?.failSafe = FailSafeState()
        audit(
            AuditEntry(
                at: now,
                device: device,
                decision: .failSafe,
                summary: "Fail-safe of \(device) released: \(why) (was: \(state.reason ?? "?"))",
                outcome: "released",
                actor: "system"
            ),
            into: &out
        )
    }

    /// Applies the fail-safe to devices silent for `staleFactor ×` their learned cadence.
    mutating func checkStaleness(at now: Int64, into out: inout [AutomationAction]) {
        guard !failSafePolicies.isEmpty else { return }
        for (device, state) in devices.sorted(by: { $0.key < $1.key }) where !state.failSafe.active {
            guard let type = state.info?.type, let policy = failSafePolicies[type], let last = state.lastTelemetryAt,
                let cadence = state.cadence
            else { continue }
            let limit = max(Int64(cadence * policy.staleFactor), policy.minimumStale)
            let silent = now - last
            if silent > limit {
                applyFailSafe(
                    device,
                    policy: policy,
                    reason:
                        "stale: no telemetry for \(DurationText.format(silent / 1000 * 1000)) (limit \(DurationText.format(limit / 1000 * 1000)), \(format(policy.staleFactor)) × cadence \(DurationText.format(Int64(cadence) / 1000 * 1000)))",
                    at: now,
                    into: &out
                )
            }
        }
    }

    // MARK: - Override and autonomy

    /// Puts a device in manual: autonomy never commands it until released or `until`.
    public mutating func setOverride(
        device: DeviceID,
        reason: String,
        until: Int64?,
        by actor: String,
        at now: Int64
    ) -> (Override, [AutomationAction]) {
        let o = Override(device: device, reason: reason, by: actor, since: now, until: until)
        overrides[device] = o
        var out: [AutomationAction] = [.override(device, o)]
        audit(
            AuditEntry(
                at: now,
                device: device,
                decision: .operatorAction,
                summary: "\(actor) put \(device) in manual: \(reason)"
                    + (until.map { " (for \(DurationText.format(max(0, $0 - now))))" } ?? " (until released)"),
                outcome: "manual",
                actor: "operator:\(actor)"
            ),
            into: &out
        )
        return (o, out)
    }

    /// Returns a device to automatic.
    public mutating func releaseOverride(device: DeviceID, by actor: String, at now: Int64) -> [AutomationAction] {
        guard overrides.removeValue(forKey: device) != nil else { return [] }
        var out: [AutomationAction] = [.override(device, nil)]
        audit(
            AuditEntry(
                at: now,
                device: device,
                decision: .operatorAction,
                summary: "\(actor) returned \(device) to automatic",
                outcome: "auto",
                actor: "operator:\(actor)"
            ),
            into: &out
        )
        return out
    }

    /// The override in force on a device, if any.
    public func override(of device: DeviceID, at now: Int64) -> Override? {
        overrides[device].flatMap { $0.isActive(at: now) ? $0 : nil }
    }

    /// Switches autonomy on or off (admin).
    public mutating func setAutonomy(
        enabled: Bool,
        reason: String?,
        by actor: String,
        at now: Int64
    ) -> [AutomationAction] {
        autonomy = AutonomySwitch(enabled: enabled, changedAt: now, changedBy: actor, reason: reason)
        var out: [AutomationAction] = [.autonomy(autonomy)]
        audit(
            AuditEntry(
                at: now,
                device: nil,
                decision: .operatorAction,
                summary: "\(actor) switched autonomy \(enabled ? "on" : "off")" + (reason.map { ": \($0)" } ?? ""),
                outcome: enabled ? "on" : "off",
                actor: "operator:\(actor)"
            ),
            into: &out
        )
        return out
    }
}
