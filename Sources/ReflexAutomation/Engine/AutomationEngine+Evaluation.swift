import ReflexCore

extension AutomationEngine {
    /// Evaluates the rules that read any of `metrics` and whose scope contains `device`.
    mutating func evaluate(device: DeviceID, metrics: Set<String>, at now: Int64, into out: inout [AutomationAction]) {
        var candidates: Set<RuleID> = []
        for metric in metrics {
            if let ids = rulesByMetric[metric] { candidates.formUnion(ids) }
        }
        evaluate(device: device, rules: candidates, at: now, into: &out)
    }

    /// Evaluates `rules` for `device`, in id order.
    mutating func evaluate(device: DeviceID, rules ids: Set<RuleID>, at now: Int64, into out: inout [AutomationAction])
    {
        for id in ids.sorted() { evaluate(rule: id, device: device, at: now, into: &out) }
    }

    func context(_ device: DeviceID, at now: Int64) -> DeviceContext {
        DeviceContext(state: devices[device] ?? DeviceState(), device: device, alarms: alarms, now: now)
    }

    func inScope(_ rule: Rule, _ device: DeviceID) -> Bool {
        let info = devices[device]?.info
        return rule.scope.contains(device, type: info?.type, labels: info?.labels ?? [:])
    }

    /// Evaluates one rule for one device: starts an episode (fires) or ends it (clears).
    mutating func evaluate(rule id: RuleID, device: DeviceID, at now: Int64, into out: inout [AutomationAction]) {
        let key = PairKey(rule: id, device: device)
        guard let record = rules[id], let rule = record.rule, record.enabled, inScope(rule, device) else {
            pending.remove(key)
            return
        }
        var state = ruleStates[key] ?? RuleDeviceState()
        var evaluator = ExpressionEvaluator(trueSince: state.trueSince)
        let ctx = context(device, at: now)
        if !state.active {
            if evaluator.condition(rule.when.expression, in: ctx) {
                // The `when` slots keep running: without a `clear`, the episode lasts while
                // `when` (with its durations) still holds.
                state.active = true
                state.trueSince = evaluator.trueSince
                ruleStates[key] = state
                fire(rule, record: record, device: device, inputs: evaluator.inputs, at: now, into: &out)
                state = ruleStates[key] ?? state
            } else {
                state.trueSince = evaluator.trueSince
            }
        } else {
            let cleared: Bool
            if let clear = rule.clear {
                cleared = evaluator.condition(clear.expression, in: ctx)
            } else {
                cleared = !evaluator.condition(rule.when.expression, in: ctx)
            }
            if cleared {
                state.active = false
                state.trueSince = [:]
                endEpisode(rule, record: record, device: device, inputs: evaluator.inputs, at: now, into: &out)
            } else {
                state.trueSince = evaluator.trueSince
            }
        }
        ruleStates[key] = state
        if evaluator.isPending || state.active { pending.insert(key) } else { pending.remove(key) }
    }

    /// The rule's condition became true for the device.
    mutating func fire(
        _ rule: Rule,
        record: RuleRecord,
        device: DeviceID,
        inputs: [String: Double],
        at now: Int64,
        into out: inout [AutomationAction]
    ) {
        rules[rule.id]?.firedCount += 1
        rules[rule.id]?.lastFiredAt = now
        let key = PairKey(rule: rule.id, device: device)
        let ctx = context(device, at: now)
        var checks: [InterlockCheck] = []
        var allInputs = inputs
        for interlock in rule.interlocks {
            var evaluator = ExpressionEvaluator()
            let held = evaluator.condition(interlock.expression, in: ctx)
            let detail = evaluator.inputs.keys.sorted().map { "\($0) = \(format(evaluator.inputs[$0] ?? 0))" }
            checks.append(
                InterlockCheck(
                    expression: interlock.text,
                    held: held,
                    detail: detail.isEmpty ? "no value" : detail.joined(separator: ", ")
                )
            )
            allInputs.merge(evaluator.inputs) { a, _ in a }
        }
        let because = "'\(rule.when.text)' became true on \(device) (\(describe(inputs)))"
        func entry(
            _ decision: AuditDecision,
            _ summary: String,
            action: JSONValue? = nil,
            outcome: String? = nil
        )
            -> AuditEntry
        {
            AuditEntry(
                at: now,
                device: device,
                rule: rule.id.rawValue,
                ruleVersion: record.version,
                decision: decision,
                summary: summary,
                inputs: allInputs,
                interlocks: checks,
                action: action,
                outcome: outcome,
                actor: "rule"
            )
        }
        if record.dryRun {
            let planned = rule.actions.map { describe($0, device: device, ctx: ctx) }.joined(separator: "; ")
            audit(
                entry(
                    .wouldFire,
                    "Dry run: would have acted: \(planned); \(because)",
                    outcome: "nothing sent (dry run)"
                ),
                into: &out
            )
            return
        }
        // Alarms are information, not actuation: they are raised whatever the gates say.
        for case .alarm(let action) in rule.actions {
            let message = fill(action.message ?? "\(action.type) on \(device): \(rule.when.text)", ctx: ctx)
            if let alarm = alarms.raise(
                device: device,
                type: action.type,
                severity: action.severity,
                rule: rule.id.rawValue,
                message: message,
                at: now
            ) {
                out.append(.alarm(alarm))
                audit(
                    entry(
                        .alarmRaised,
                        "Raised \(action.severity.rawValue) alarm \(action.type) on \(device): \(because)"
                            + (alarm.flapping ? " (flapping)" : ""),
                        action: .object(["alarm": .string(alarm.id), "type": .string(action.type)]),
                        outcome: "alarm \(alarm.id) active"
                    ),
                    into: &out
                )
            }
        }
        let actuations = rule.actions.filter { if case .alarm = $0 { false } else { true } }
        guard !actuations.isEmpty else { return }
        let planned = actuations.map { describe($0, device: device, ctx: ctx) }.joined(separator: "; ")
        var state = ruleStates[key] ?? RuleDeviceState()
        state.actionTimes.removeAll { now - $0 >= 3_600_000 }
        if !autonomy.enabled {
            audit(
                entry(
                    .suppressedAutonomyOff,
                    "Did not \(planned): autonomy is off (\(autonomy.reason ?? "switched off")); \(because)",
                    outcome: "suppressed"
                ),
                into: &out
            )
        } else if let o = overrides[device], o.isActive(at: now) {
            audit(
                entry(
                    .suppressedOverride,
                    "Did not \(planned): \(device) is in manual (override by \(o.by): \(o.reason)); \(because)",
                    outcome: "suppressed"
                ),
                into: &out
            )
        } else if let last = state.lastActionAt, now - last < rule.cooldown {
            audit(
                entry(
                    .suppressedCooldown,
                    "Did not \(planned): cooldown \(DurationText.format(rule.cooldown)) since the last action \(DurationText.format(now - last)) ago; \(because)",
                    outcome: "suppressed"
                ),
                into: &out
            )
        } else if let cap = rule.maxActionsPerHour, state.actionTimes.count >= cap {
            audit(
                entry(
                    .suppressedCap,
                    "Did not \(planned): \(state.actionTimes.count) actions in the last hour reach the cap of \(cap); \(because)",
                    outcome: "suppressed"
                ),
                into: &out
            )
        } else if let failed = checks.first(where: { !$0.held }) {
            audit(
                entry(
                    .suppressedInterlock,
                    "Did not \(planned): interlock '\(failed.expression)' does not hold (\(failed.detail)); \(because)",
                    outcome: "suppressed"
                ),
                into: &out
            )
        } else {
            state.lastActionAt = now
            state.actionTimes.append(now)
            ruleStates[key] = state
            for action in actuations {
                perform(
                    action,
                    rule: rule,
                    record: record,
                    device: device,
                    ctx: ctx,
                    because: because,
                    entry: entry,
                    at: now,
                    into: &out
                )
            }
            return
        }
        ruleStates[key] = state
    }

    mutating func perform(
        _ action: RuleAction,
        rule: Rule,
        record: RuleRecord,
        device: DeviceID,
        ctx: DeviceContext,
        because: String,
        entry: (AuditDecision, String, JSONValue?, String?) -> AuditEntry,
        at now: Int64,
        into out: inout [AutomationAction]
    ) {
        switch action {
        case .alarm: return
        case .desired(let desired):
            out.append(.publishDesired(device, desired.values))
            audit(
                entry(
                    .fired,
                    "Set the desired state of \(device) to \(JSONValue.object(desired.values)); \(because)",
                    .object(["desired": .object(desired.values)]),
                    "published"
                ),
                into: &out
            )
        case .webhook(let hook):
            var inputs: [String: JSONValue] = [:]
            for (k, v) in entry(.fired, "", nil, nil).inputs { inputs[k] = .number(v) }
            out.append(
                .webhook(
                    url: hook.url,
                    body: .object([
                        "rule": .string(rule.id.rawValue), "ruleVersion": .number(Double(record.version)),
                        "device": .string(device.rawValue), "at": .number(Double(now)), "summary": .string(because),
                        "inputs": .object(inputs),
                    ]),
                    rule: rule.id.rawValue,
                    device: device
                )
            )
            audit(
                entry(
                    .fired,
                    "POST webhook \(hook.url): \(because)",
                    .object(["webhook": .string(hook.url)]),
                    "posted"
                ),
                into: &out
            )
        case .command(let command):
            var params: [String: JSONValue] = [:]
            var notes: [String] = []
            for (name, parameter) in command.params.sorted(by: { $0.key < $1.key }) {
                switch parameter {
                case .constant(let value): params[name] = value
                case .computed(let formula):
                    var evaluator = ExpressionEvaluator()
                    guard let value = evaluator.number(formula.expression, in: ctx) else {
                        audit(
                            entry(
                                .suppressedInterlock,
                                "Did not send \(command.name) to \(device): parameter \(name) = '\(formula.text)' has no value (an input is missing); \(because)",
                                .object(["command": .string(command.name)]),
                                "suppressed"
                            ),
                            into: &out
                        )
                        return
                    }
                    var bounded = value
                    if let range = command.bounds[name] {
                        bounded = min(max(value, range.lowerBound), range.upperBound)
                        if bounded != value {
                            notes.append(
                                "\(name) clamped from \(format(value)) to \(format(bounded)) by bounds [\(format(range.lowerBound)), \(format(range.upperBound))]"
                            )
                        }
                    }
                    params[name] = .number(bounded)
                }
            }
            let submitted = commands.submit(
                device: device,
                name: command.name,
                params: params,
                origin: "rule:\(rule.id)@\(record.version)",
                ttl: command.ttl,
                idempotencyKey: nil,
                verify: command.verify,
                needsApproval: rule.approval,
                at: now
            )
            out.append(.command(submitted))
            let described = "\(command.name) \(JSONValue.object(params))"
            let action: JSONValue = .object([
                "command": .string(submitted.id), "name": .string(command.name), "params": .object(params),
            ])
            let extra = notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")"
            if rule.approval {
                audit(
                    entry(
                        .approvalRequested,
                        "Holding \(described) for \(device) until an operator approves\(extra); \(because)",
                        action,
                        "pending_approval"
                    ),
                    into: &out
                )
            } else {
                audit(entry(.fired, "Sent \(described) to \(device)\(extra); \(because)", action, "queued"), into: &out)
                dispatch(device: device, at: now, into: &out)
            }
        }
    }

    /// The episode ended (the clear condition holds): the rule's alarms on the device clear.
    mutating func endEpisode(
        _ rule: Rule,
        record: RuleRecord,
        device: DeviceID,
        inputs: [String: Double],
        at now: Int64,
        into out: inout [AutomationAction]
    ) {
        let condition = rule.clear.map { "'\($0.text)' holds" } ?? "'\(rule.when.text)' no longer holds"
        for case .alarm(let action) in rule.actions {
            guard let alarm = alarms.clear(device: device, type: action.type, detail: condition, at: now) else {
                continue
            }
            out.append(.alarm(alarm))
            audit(
                AuditEntry(
                    at: now,
                    device: device,
                    rule: rule.id.rawValue,
                    ruleVersion: record.version,
                    decision: .alarmCleared,
                    summary: "Cleared alarm \(action.type) on \(device): \(condition) (\(describe(inputs)))",
                    inputs: inputs,
                    action: .object(["alarm": .string(alarm.id)]),
                    outcome: "cleared",
                    actor: "rule"
                ),
                into: &out
            )
        }
    }

    // MARK: - Text

    func format(_ value: Double) -> String {
        if value == value.rounded(), Swift.abs(value) < 1e12 { return "\(Int64(value))" }
        return "\((value * 1000).rounded() / 1000)"
    }

    func describe(_ inputs: [String: Double]) -> String {
        inputs.isEmpty
            ? "no inputs" : inputs.keys.sorted().map { "\($0) = \(format(inputs[$0] ?? 0))" }.joined(separator: ", ")
    }

    func describe(_ action: RuleAction, device: DeviceID, ctx: DeviceContext) -> String {
        switch action {
        case .alarm(let a): return "raise alarm \(a.type)"
        case .webhook(let w): return "POST \(w.url)"
        case .desired(let d): return "set the desired state of \(device) to \(JSONValue.object(d.values))"
        case .command(let c):
            let params = c.params.keys.sorted().map { name -> String in
                switch c.params[name] {
                case .constant(let v)?: return "\(name): \(v)"
                case .computed(let f)?:
                    var evaluator = ExpressionEvaluator()
                    return "\(name): \(evaluator.number(f.expression, in: ctx).map(format) ?? "?") (\(f.text))"
                case nil: return name
                }
            }
            return "send \(c.name) {\(params.joined(separator: ", "))} to \(device)"
        }
    }

    /// Replaces `{metric}` in a message template with the metric's latest value.
    func fill(_ template: String, ctx: DeviceContext) -> String {
        var out = ""
        var name: String?
        for ch in template {
            if ch == "{" {
                name = ""
            } else if ch == "}", let n = name {
                out += ctx.latest(n).map(format) ?? "{\(n)}"
                name = nil
            } else if name != nil {
                name?.append(ch)
            } else {
                out.append(ch)
            }
        }
        if let name { out += "{" + name }
        return out
    }
}
