import ReflexCore
import Yams

extension RuleParser {
    static let alarmKeys: Set<String> = ["type", "severity", "message"]
    static let commandKeys: Set<String> = ["name", "params", "bounds", "ttl", "verify", "affects"]

    func parseAction(
        _ node: Node,
        known: Set<String>?,
        slot: inout Int,
        context: DocumentContext
    ) throws(RuleError) -> RuleAction {
        guard case .mapping(let mapping) = node, mapping.count == 1, let (keyNode, body) = mapping.first,
            let kind = keyNode.string
        else {
            throw context.error(
                node,
                "each action is one of '- alarm: {...}', '- command: {...}', '- desired: {...}', '- webhook: {...}'"
            )
        }
        guard case .mapping(let fields) = body else {
            throw context.error(body, "'\(kind):' needs a mapping, e.g. \(kind): { ... }")
        }
        switch kind {
        case "alarm":
            try checkKeys(fields, allowed: Self.alarmKeys, context: context)
            guard let type = fields["type"]?.string, RuleID(validating: type) != nil else {
                throw context.error(body, "alarm needs 'type:' (letters, digits, '-', '_'), e.g. type: overheat")
            }
            var severity = AlarmSeverity.major
            if let node = fields["severity"] {
                guard let text = node.string, let s = AlarmSeverity(rawValue: text) else {
                    throw context.error(node, "severity must be critical, major, minor or warning")
                }
                severity = s
            }
            return .alarm(AlarmAction(type: type, severity: severity, message: fields["message"]?.string))
        case "command":
            return .command(try parseCommand(fields, node: body, known: known, slot: &slot, context: context))
        case "desired":
            var values: [String: JSONValue] = [:]
            for (key, value) in fields {
                guard let name = key.string, case .scalar(let scalar) = value, scalar.style == .plain else {
                    throw context.error(
                        key,
                        "desired values are plain constants, e.g. desired: { mode: eco, setpoint: 42 }"
                    )
                }
                if let n = value.float {
                    values[name] = .number(n)
                } else if let b = value.bool {
                    values[name] = .bool(b)
                } else {
                    values[name] = .string(scalar.string)
                }
            }
            guard !values.isEmpty else { throw context.error(body, "'desired:' needs at least one key: value") }
            return .desired(DesiredStateAction(values: values))
        case "webhook":
            try checkKeys(fields, allowed: ["url"], context: context)
            guard let url = fields["url"]?.string, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw context.error(body, "webhook needs 'url:' starting with http:// or https://")
            }
            return .webhook(WebhookAction(url: url))
        default:
            let hint =
                suggestion(for: kind, among: ["alarm", "command", "desired", "webhook"]).map {
                    "; did you mean '\($0)'?"
                } ?? ""
            throw context.error(keyNode, "unknown action '\(kind)'\(hint); use alarm, command, desired or webhook")
        }
    }

    func parseCommand(
        _ fields: Node.Mapping,
        node: Node,
        known: Set<String>?,
        slot: inout Int,
        context: DocumentContext
    ) throws(RuleError) -> CommandAction {
        try checkKeys(fields, allowed: Self.commandKeys, context: context)
        guard let name = fields["name"]?.string, RuleID(validating: name) != nil else {
            throw context.error(node, "command needs 'name:' (letters, digits, '-', '_'), e.g. name: set_speed")
        }
        var bounds: [String: ClosedRange<Double>] = [:]
        if let boundsNode = fields["bounds"] {
            guard case .mapping(let pairs) = boundsNode else {
                throw context.error(boundsNode, "'bounds:' maps a parameter to [low, high], e.g. { rpm: [0, 3000] }")
            }
            for (key, value) in pairs {
                guard let param = key.string, case .sequence(let seq) = value, seq.count == 2,
                    let low = seq[seq.startIndex].float, let high = seq[seq.index(after: seq.startIndex)].float,
                    low <= high
                else {
                    throw context.error(key, "bounds of '\(key.string ?? "?")' must be [low, high] with low <= high")
                }
                bounds[param] = low...high
            }
        }
        var params: [String: CommandParameter] = [:]
        if let paramsNode = fields["params"] {
            guard case .mapping(let pairs) = paramsNode else {
                throw context.error(paramsNode, "'params:' needs a mapping, e.g. { rpm: 900 }")
            }
            for (key, value) in pairs {
                guard let param = key.string else { throw context.error(key, "parameter names are text") }
                params[param] = try parseParameter(
                    param,
                    value,
                    bounds: bounds,
                    known: known,
                    slot: &slot,
                    context: context
                )
            }
        }
        for param in bounds.keys where params[param] == nil {
            throw context.error(fields["bounds"], "bounds name '\(param)', which is not a parameter of '\(name)'")
        }
        var ttl: Int64 = 300_000
        if let value = try duration(fields["ttl"], key: "ttl", context: context) { ttl = value }
        var verify: Verification?
        if let verifyNode = fields["verify"] {
            guard case .mapping(let v) = verifyNode, let whenNode = v["when"], let text = scalarText(whenNode) else {
                throw context.error(verifyNode, "'verify:' needs { when: \"speed < 2200\", within: 60s }")
            }
            try checkKeys(v, allowed: ["when", "within"], context: context)
            do {
                let (expression, next) = try ExpressionParser.parse(text, expecting: .boolean, firstSlot: slot)
                slot = next
                try checkMetrics(expression, known: known, node: whenNode, context: context)
                let within = try duration(v["within"], key: "within", context: context) ?? 60_000
                verify = Verification(condition: Condition(text: text, expression: expression), within: within)
            } catch let error as ExpressionError {
                throw context.error(whenNode, "'verify: \(text)' \(error)")
            } catch let error as RuleError {
                throw error
            } catch {
                throw context.error(whenNode, "\(error)")
            }
        }
        var affects = Set(params.keys)
        if name.hasPrefix("set_") { affects.insert(String(name.dropFirst(4))) }
        if let node = fields["affects"] {
            guard case .sequence(let seq) = node else {
                throw context.error(node, "'affects:' needs a list of metrics")
            }
            for item in seq { if let m = item.string { affects.insert(m) } }
        }
        return CommandAction(name: name, params: params, bounds: bounds, ttl: ttl, verify: verify, affects: affects)
    }

    func parseParameter(
        _ name: String,
        _ node: Node,
        bounds: [String: ClosedRange<Double>],
        known: Set<String>?,
        slot: inout Int,
        context: DocumentContext
    ) throws(RuleError) -> CommandParameter {
        switch node {
        case .scalar(let scalar):
            if let number = node.float, scalar.style == .plain { return .constant(.number(number)) }
            if let flag = node.bool, scalar.style == .plain { return .constant(.bool(flag)) }
            let text = scalar.string
            // Plain scalars are constants; a quoted text with an operator or a call is a formula
            // over the device's inputs ("max(speed * 0.7, 900)"), which must have bounds.
            let looksLikeFormula = scalar.style != .plain && text.contains(where: { "()+-*/".contains($0) })
            if looksLikeFormula {
                let expression: Expression
                do {
                    let (parsed, next) = try ExpressionParser.parse(text, expecting: .number, firstSlot: slot)
                    expression = parsed
                    slot = next
                } catch {
                    throw context.error(node, "parameter '\(name)': '\(text)' \(error)")
                }
                guard bounds[name] != nil else {
                    throw context.error(
                        node,
                        "parameter '\(name)' is computed ('\(text)') and so needs bounds, e.g. bounds: { \(name): [0, 3000] }"
                    )
                }
                try checkMetrics(expression, known: known, node: node, context: context)
                return .computed(Condition(text: text, expression: expression))
            }
            return .constant(.string(text))
        default:
            throw context.error(node, "parameter '\(name)' must be a number, text, true/false or a quoted formula")
        }
    }

    /// A rule whose command changes what its own condition reads re-triggers itself: without a
    /// cooldown it is refused; with one it is accepted with a warning (damped by cooldown and cap).
    func checkSelfCycle(_ rule: inout Rule, doNode: Node, context: DocumentContext) throws(RuleError) {
        let reads = rule.when.expression.metrics
        for command in rule.commands {
            let loop = command.affects.intersection(reads).sorted()
            guard !loop.isEmpty else { continue }
            let what = loop.joined(separator: ", ")
            if rule.cooldown == 0 {
                throw context.error(
                    doNode,
                    "command '\(command.name)' sets \(what), which the rule's own 'when' reads: a cycle that would retrigger it; add a cooldown (e.g. cooldown: 5m) or read another signal"
                )
            }
            rule.warnings.append(
                "command '\(command.name)' sets \(what), which 'when' reads: a cycle, damped by cooldown \(DurationText.format(rule.cooldown))"
                    + (rule.maxActionsPerHour.map { " and at most \($0) actions per hour" } ?? "")
            )
        }
    }

    // MARK: - Fail-safe

    func parseFailSafe(_ mapping: Node.Mapping, file: String) throws(RuleError) -> FailSafePolicy {
        let context = DocumentContext(file: file, rule: "failsafe:\(mapping["failsafe"]?.string ?? "?")")
        try checkKeys(mapping, allowed: Self.failSafeKeys, context: context)
        guard let type = mapping["failsafe"]?.string, !type.isEmpty else {
            throw context.error(mapping["failsafe"], "'failsafe:' names a device type, e.g. failsafe: pump")
        }
        guard let commandNode = mapping["command"], case .mapping(let fields) = commandNode,
            let name = fields["name"]?.string, RuleID(validating: name) != nil
        else {
            throw context.error(
                mapping["command"],
                "fail-safe needs 'command: { name: stop }' (params optional, constants only)"
            )
        }
        try checkKeys(fields, allowed: ["name", "params"], context: context)
        var params: [String: JSONValue] = [:]
        if let paramsNode = fields["params"] {
            guard case .mapping(let pairs) = paramsNode else {
                throw context.error(paramsNode, "'params:' needs a mapping")
            }
            for (key, value) in pairs {
                guard let k = key.string else { continue }
                if let n = value.float {
                    params[k] = .number(n)
                } else if let b = value.bool {
                    params[k] = .bool(b)
                } else {
                    params[k] = .string(value.string ?? "")
                }
            }
        }
        var policy = FailSafePolicy(deviceType: type, command: name, params: params)
        if let node = mapping["staleAfter"] {
            guard let factor = node.float, factor >= 1 else {
                throw context.error(node, "'staleAfter:' is a multiple of the reporting cadence, at least 1 (e.g. 3)")
            }
            policy.staleFactor = factor
        }
        if let ms = try duration(mapping["minimumStale"], key: "minimumStale", context: context) {
            policy.minimumStale = ms
        }
        policy.onOffline = try flag(mapping["onOffline"], key: "onOffline", default: true, context: context)
        policy.onUnhealthy = try flag(mapping["onUnhealthy"], key: "onUnhealthy", default: true, context: context)
        return policy
    }
}

extension RuleParser {
    /// Cycles between rules: rule A's command sets what rule B reads and B's sets what A reads.
    /// Returns a warning per rule on such a cycle (they are damped by cooldowns and caps).
    public static func crossRuleCycles(_ rules: [Rule]) -> [RuleID: String] {
        var edges: [RuleID: Set<RuleID>] = [:]
        for a in rules {
            let sets = a.commands.reduce(into: Set<String>()) { $0.formUnion($1.affects) }
            for b in rules where b.id != a.id && !sets.isDisjoint(with: b.when.expression.metrics) {
                edges[a.id, default: []].insert(b.id)
            }
        }
        var out: [RuleID: String] = [:]
        for (a, targets) in edges {
            for b in targets where edges[b]?.contains(a) == true {
                out[a] =
                    "cycle with rule '\(b)': each one's command changes what the other reads; damped by cooldowns and caps"
            }
        }
        return out
    }
}
