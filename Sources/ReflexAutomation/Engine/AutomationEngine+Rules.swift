import ReflexCore

extension AutomationEngine {
    /// A parser whose known metrics are those seen so far for the devices a scope selects.
    public var parser: RuleParser {
        let known = knownMetrics
        let infos = devices.values.compactMap(\.info)
        return RuleParser { scope in
            var types: Set<String> = []
            if let type = scope.type { types.insert(type) }
            for info in infos where scope.contains(info.id, type: info.type, labels: info.labels) {
                types.insert(info.type)
            }
            guard !types.isEmpty else { return nil }
            let union = types.reduce(into: Set<String>()) { $0.formUnion(known[$1] ?? []) }
            return union.isEmpty ? nil : union
        }
    }

    /// Replaces the rules and fail-safe policies of one file (`rules/pumps.yaml`) with those in
    /// `text`: new rules are added, changed ones get a new version, missing ones are removed.
    /// Returns the file's errors and the actions (rule changes); good rules load whatever the
    /// bad ones say.
    public mutating func loadFile(
        _ file: String,
        text: String,
        at now: Int64
    ) -> (errors: [RuleError], actions: [AutomationAction]) {
        let parsed = parser.parse(text, file: file)
        let source = "file:\(file)"
        var out: [AutomationAction] = []
        var errors = parsed.errors
        var seen: Set<RuleID> = []
        for rule in parsed.rules {
            if let existing = rules[rule.id], existing.source != source {
                errors.append(
                    RuleError(
                        file: file,
                        line: nil,
                        rule: rule.id.rawValue,
                        message: "rule id already used by \(existing.source); rename one of them"
                    )
                )
                continue
            }
            seen.insert(rule.id)
            install(rule, text: rule.text, source: source, errors: [], into: &out)
        }
        for refused in parsed.refused where !seen.contains(refused.id) {
            if let existing = rules[refused.id], existing.source != source { continue }
            seen.insert(refused.id)
            install(
                nil,
                id: refused.id,
                text: refused.text,
                source: source,
                errors: refused.errors.map(\.description),
                into: &out
            )
        }
        for (id, record) in rules where record.source == source && !seen.contains(id) {
            remove(id, into: &out)
        }
        failSafePolicies = configuredFailSafes
        for policy in parsed.failSafes { failSafePolicies[policy.deviceType] = policy }
        flagCycles()
        return (errors, out)
    }

    /// Removes every rule of a file that was deleted.
    public mutating func removeFile(_ file: String) -> [AutomationAction] {
        var out: [AutomationAction] = []
        for (id, record) in rules where record.source == "file:\(file)" { remove(id, into: &out) }
        failSafePolicies = configuredFailSafes
        return out
    }

    /// Adds or replaces a rule through the API; a rule with errors is refused (400) and the
    /// previous version stays in force.
    public mutating func putRule(
        _ id: RuleID,
        text: String,
        at now: Int64
    ) throws(AutomationError) -> (RuleRecord, [AutomationAction]) {
        if let existing = rules[id], existing.source != "api" {
            throw .conflict("rule '\(id)' comes from \(existing.source); edit that file instead")
        }
        let parsed = parser.parse(text, file: "api")
        guard parsed.errors.isEmpty else { throw .invalidRule(parsed.errors) }
        guard parsed.rules.count == 1, let rule = parsed.rules.first else {
            throw .invalidRule([
                RuleError(file: "api", line: nil, rule: id.rawValue, message: "send exactly one rule document")
            ])
        }
        guard rule.id == id else {
            throw .invalidRule([
                RuleError(
                    file: "api",
                    line: 1,
                    rule: rule.id.rawValue,
                    message: "the text says 'rule: \(rule.id)' but the URL names '\(id)'"
                )
            ])
        }
        var out: [AutomationAction] = []
        install(rule, text: text, source: "api", errors: [], into: &out)
        flagCycles()
        return (rules[id] ?? RuleRecord(id: id, version: 1, source: "api", text: text, rule: rule, errors: []), out)
    }

    /// Deletes a rule made through the API.
    public mutating func deleteRule(_ id: RuleID) throws(AutomationError) -> [AutomationAction] {
        guard let record = rules[id] else { throw .notFound("no rule '\(id)'") }
        guard record.source == "api" else {
            throw .conflict("rule '\(id)' comes from \(record.source); remove it from that file")
        }
        var out: [AutomationAction] = []
        remove(id, into: &out)
        return out
    }

    /// Enables, disables or sets dry-run on a rule (a runtime flag, kept until the text changes).
    public mutating func setRuleFlags(
        _ id: RuleID,
        enabled: Bool?,
        dryRun: Bool?,
        by actor: String,
        at now: Int64
    )
        throws(AutomationError) -> (RuleRecord, [AutomationAction])
    {
        guard var record = rules[id] else { throw .notFound("no rule '\(id)'") }
        guard record.rule != nil else {
            throw .conflict("rule '\(id)' has errors: \(record.errors.joined(separator: "; "))")
        }
        if let enabled { record.enabled = enabled }
        if let dryRun { record.dryRun = dryRun }
        rules[id] = record
        var out: [AutomationAction] = [.rule(record, removed: false)]
        let what = enabled.map { $0 ? "enabled" : "disabled" } ?? (dryRun == true ? "set to dry run" : "set to act")
        audit(
            AuditEntry(
                at: now,
                device: nil,
                rule: id.rawValue,
                ruleVersion: record.version,
                decision: .operatorAction,
                summary: "\(actor) \(what) rule \(id)",
                outcome: what,
                actor: "operator:\(actor)"
            ),
            into: &out
        )
        return (record, out)
    }

    /// Restores a rule version from storage (so versions keep counting across restarts).
    public mutating func restoreVersion(_ id: RuleID, version: Int, text: String) {
        if var record = rules[id], record.text == text {
            record.version = max(record.version, version)
            rules[id] = record
        }
        restoredVersions[id] = max(restoredVersions[id] ?? 0, version)
        restoredTexts[id] = text
    }

    mutating func install(
        _ rule: Rule?,
        id: RuleID? = nil,
        text: String,
        source: String,
        errors: [String],
        into out: inout [AutomationAction]
    ) {
        guard let id = rule?.id ?? id else { return }
        let previous = rules[id]
        if let previous, previous.text == text, previous.source == source { return }
        var version = (previous?.version ?? restoredVersions[id] ?? 0) + 1
        if previous == nil, restoredTexts[id] == text, let restored = restoredVersions[id] { version = restored }
        var record = RuleRecord(id: id, version: version, source: source, text: text, rule: rule, errors: errors)
        record.firedCount = previous?.firedCount ?? 0
        record.lastFiredAt = previous?.lastFiredAt
        var compiled = rule
        compiled?.version = version
        record.rule = compiled
        if rule == nil, let previous, previous.rule != nil {
            // Keep the previous valid version running, but show the new errors.
            record = previous
            record.errors = errors
            rules[id] = record
            out.append(.rule(record, removed: false))
            return
        }
        unindex(id)
        rules[id] = record
        if let compiled { index(compiled) }
        for key in ruleStates.keys where key.rule == id {
            ruleStates[key] = nil
            pending.remove(key)
        }
        out.append(.rule(record, removed: false))
    }

    mutating func remove(_ id: RuleID, into out: inout [AutomationAction]) {
        guard let record = rules.removeValue(forKey: id) else { return }
        unindex(id)
        for key in ruleStates.keys where key.rule == id {
            ruleStates[key] = nil
            pending.remove(key)
        }
        out.append(.rule(record, removed: true))
    }

    mutating func index(_ rule: Rule) {
        for metric in rule.inputMetrics { rulesByMetric[metric, default: []].insert(rule.id) }
        for metric in rule.anomalyInputs { rulesByAnomaly[metric, default: []].insert(rule.id) }
        if rule.when.expression.readsStatus || rule.clear?.expression.readsStatus == true {
            statusRules.insert(rule.id)
        }
        for expression in [rule.when.expression] + (rule.clear.map { [$0.expression] } ?? [])
            + rule.interlocks.map(\.expression)
        {
            for (metric, span) in expression.windows { windowSpans[metric] = max(windowSpans[metric] ?? 0, span) }
        }
    }

    mutating func unindex(_ id: RuleID) {
        for metric in rulesByMetric.keys { rulesByMetric[metric]?.remove(id) }
        for metric in rulesByAnomaly.keys { rulesByAnomaly[metric]?.remove(id) }
        statusRules.remove(id)
    }

    mutating func flagCycles() {
        let valid = rules.values.compactMap(\.rule)
        let cycles = RuleParser.crossRuleCycles(valid)
        for (id, var record) in rules {
            var warnings = record.rule?.warnings ?? []
            if let cycle = cycles[id] { warnings.append(cycle) }
            if record.warnings != warnings {
                record.warnings = warnings
                rules[id] = record
            }
        }
    }
}
