import Foundation
import ReflexCore
import Yams

/// What a rules file (or an API rule) contained: the valid rules and fail-safe policies, and an
/// error for each document that was refused. A bad document never stops the good ones.
public struct RuleFile: Sendable {
    public var rules: [Rule] = []
    public var failSafes: [FailSafePolicy] = []
    public var errors: [RuleError] = []
    /// The ids of refused rules, with their errors (so the API can show a rule that failed).
    public var refused: [(id: RuleID, text: String, errors: [RuleError])] = []

    public init() {}
}

/// Parses rule YAML: one or more documents separated by `---`, each either a rule (`rule: id`)
/// or a fail-safe policy (`failsafe: <device type>`). See `docs/automation.md` for the syntax.
///
/// Validation names file, line and problem: unknown keys (with a suggestion), expressions that do
/// not parse, unknown metrics (when the set of known metrics for the scope is known), computed
/// command parameters without bounds, and a command that changes what its own condition reads
/// without a cooldown (a cycle; with a cooldown it is only a warning, damped by cooldown and cap).
public struct RuleParser: Sendable {
    /// The metrics known for a scope (from the device types' series seen so far); nil or empty
    /// when unknown, in which case metric names are not checked.
    public var knownMetrics: @Sendable (RuleScope) -> Set<String>?

    public init(knownMetrics: @escaping @Sendable (RuleScope) -> Set<String>? = { _ in nil }) {
        self.knownMetrics = knownMetrics
    }

    static let ruleKeys: Set<String> = [
        "rule", "description", "scope", "when", "clear", "do", "interlocks", "cooldown", "maxActionsPerHour",
        "approval", "dryRun", "enabled",
    ]
    static let failSafeKeys: Set<String> = [
        "failsafe", "command", "staleAfter", "minimumStale", "onOffline", "onUnhealthy",
    ]

    /// Parses every document of `text`; `file` names it in errors (`rules/pumps.yaml`, `api`).
    public func parse(_ text: String, file: String) -> RuleFile {
        var result = RuleFile()
        let documents: YamlSequence<Node>
        do {
            documents = try Yams.compose_all(yaml: text)
        } catch {
            result.errors.append(Self.yamlError(error, file: file))
            return result
        }
        var iterator = documents.makeIterator()
        while let node = iterator.next() {
            let documentText = Self.documentText(of: node, in: text)
            guard case .mapping(let mapping) = node else {
                result.errors.append(
                    RuleError(
                        file: file,
                        line: node.mark?.line,
                        rule: nil,
                        message: "a document must be a mapping starting with 'rule:' or 'failsafe:'"
                    )
                )
                continue
            }
            if mapping["failsafe"] != nil {
                do throws(RuleError) {
                    var policy = try parseFailSafe(mapping, file: file)
                    policy.source = file == "api" ? "api" : "file:\(file)"
                    result.failSafes.append(policy)
                } catch {
                    result.errors.append(error)
                }
                continue
            }
            var context = DocumentContext(file: file, rule: mapping["rule"]?.string)
            do throws(RuleError) {
                let rule = try parseRule(mapping, text: documentText, context: &context)
                result.rules.append(rule)
            } catch {
                result.errors.append(error)
                if let name = context.rule, let id = RuleID(validating: name) {
                    result.refused.append((id, documentText, [error]))
                }
            }
        }
        if let error = iterator.error {
            result.errors.append(Self.yamlError(error, file: file))
        }
        return result
    }

    struct DocumentContext {
        var file: String
        var rule: String?

        func error(_ node: Node?, _ message: String) -> RuleError {
            RuleError(file: file, line: node?.mark?.line, rule: rule, message: message)
        }
    }

    static func yamlError(_ error: any Error, file: String) -> RuleError {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                return RuleError(file: file, line: mark.line, rule: nil, message: "YAML syntax: \(problem)")
            default: break
            }
        }
        return RuleError(file: file, line: nil, rule: nil, message: "YAML syntax: \(error)")
    }

    /// The lines of `text` that a document spans (from its first key to the next `---` or the end).
    static func documentText(of node: Node, in text: String) -> String {
        guard let start = node.mark?.line else { return text }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [Substring] = []
        var index = max(0, start - 1)
        while index < lines.count, !lines[index].hasPrefix("---") {
            out.append(lines[index])
            index += 1
        }
        while let last = out.last, last.trimmingCharacters(in: .whitespaces).isEmpty { out.removeLast() }
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: - Rules

    func parseRule(_ mapping: Node.Mapping, text: String, context: inout DocumentContext) throws(RuleError) -> Rule {
        let ruleNode = mapping["rule"]
        guard let name = ruleNode?.string, let id = RuleID(validating: name) else {
            throw context.error(
                ruleNode ?? .mapping(mapping),
                "'rule:' needs a name of letters, digits, '-', '_' or '.' (at most 64)"
            )
        }
        try checkKeys(mapping, allowed: Self.ruleKeys, context: context)
        let scope = try parseScope(mapping["scope"], context: context)
        let known = knownMetrics(scope).flatMap { $0.isEmpty ? nil : $0 }
        var slot = 0
        func condition(_ node: Node?, key: String) throws(RuleError) -> Condition {
            guard let node, let text = scalarText(node) else {
                throw context.error(
                    node ?? .mapping(mapping),
                    "'\(key):' needs a condition, e.g. \(key): temperature > 85 for 30s"
                )
            }
            do {
                let (expression, next) = try ExpressionParser.parse(text, expecting: .boolean, firstSlot: slot)
                slot = next
                try checkMetrics(expression, known: known, node: node, context: context)
                return Condition(text: text, expression: expression)
            } catch let error as ExpressionError {
                throw context.error(node, "'\(key): \(text)' \(error)")
            } catch let error as RuleError {
                throw error
            } catch {
                throw context.error(node, "\(error)")
            }
        }
        let when = try condition(mapping["when"], key: "when")
        let clear = try mapping["clear"].map { node throws(RuleError) in try condition(node, key: "clear") }
        var interlocks: [Condition] = []
        if let node = mapping["interlocks"] {
            let items: [Node]
            if case .sequence(let seq) = node { items = Array(seq) } else { items = [node] }
            for item in items { interlocks.append(try condition(item, key: "interlocks")) }
        }
        let cooldown = try duration(mapping["cooldown"], key: "cooldown", context: context) ?? 0
        var cap: Int?
        if let node = mapping["maxActionsPerHour"] {
            guard let n = node.int, n >= 1 else {
                throw context.error(node, "'maxActionsPerHour:' needs a whole number of at least 1")
            }
            cap = n
        }
        guard let doNode = mapping["do"], case .sequence(let actionNodes) = doNode, !actionNodes.isEmpty else {
            throw context.error(
                mapping["do"] ?? .mapping(mapping),
                "'do:' needs a list of actions (- alarm: ..., - command: ..., - webhook: ...)"
            )
        }
        var actions: [RuleAction] = []
        for node in actionNodes {
            actions.append(try parseAction(node, known: known, slot: &slot, context: context))
        }
        var rule = Rule(
            id: id,
            version: 1,
            source: context.file == "api" ? "api" : "file:\(context.file)",
            text: text,
            scope: scope,
            when: when,
            clear: clear,
            actions: actions,
            interlocks: interlocks,
            cooldown: cooldown,
            maxActionsPerHour: cap,
            approval: try flag(mapping["approval"], key: "approval", default: false, context: context),
            dryRun: try flag(mapping["dryRun"], key: "dryRun", default: false, context: context),
            enabled: try flag(mapping["enabled"], key: "enabled", default: true, context: context),
            warnings: [],
            slotCount: slot
        )
        try checkSelfCycle(&rule, doNode: doNode, context: context)
        return rule
    }

    func checkKeys(_ mapping: Node.Mapping, allowed: Set<String>, context: DocumentContext) throws(RuleError) {
        for key in mapping.keys {
            guard let name = key.string, allowed.contains(name) else {
                let name = key.string ?? "?"
                let hint =
                    suggestion(for: name, among: allowed).map { "; did you mean '\($0)'?" }
                    ?? "; allowed: \(allowed.sorted().joined(separator: ", "))"
                throw context.error(key, "unknown key '\(name)'\(hint)")
            }
        }
    }

    func scalarText(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node else { return nil }
        let text = scalar.string.trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }

    func checkMetrics(
        _ expression: Expression,
        known: Set<String>?,
        node: Node,
        context: DocumentContext
    ) throws(RuleError) {
        guard let known else { return }
        for metric in expression.metrics.sorted() where !known.contains(metric) {
            let hint = suggestion(for: metric, among: known).map { "did you mean '\($0)'? " } ?? ""
            throw context.error(
                node,
                "unknown metric '\(metric)'; \(hint)known: \(known.sorted().prefix(20).joined(separator: ", "))"
            )
        }
    }

    func parseScope(_ node: Node?, context: DocumentContext) throws(RuleError) -> RuleScope {
        guard let node else {
            throw context.error(
                nil,
                "'scope:' is required: { type: pump }, { devices: [pump-1] } or { labels: { site: lyon } }"
            )
        }
        if case .scalar = node, node.string == "all" { return RuleScope() }
        guard case .mapping(let mapping) = node else {
            throw context.error(node, "'scope:' must be a mapping such as { type: pump }, or 'all'")
        }
        try checkKeys(mapping, allowed: ["type", "devices", "labels"], context: context)
        var scope = RuleScope()
        if let type = mapping["type"] {
            guard let text = type.string, !text.isEmpty else {
                throw context.error(type, "'type:' needs a device type")
            }
            scope.type = text
        }
        if let devices = mapping["devices"] {
            guard case .sequence(let seq) = devices, !seq.isEmpty else {
                throw context.error(devices, "'devices:' needs a list of device ids, e.g. [pump-1, pump-2]")
            }
            var ids: Set<DeviceID> = []
            for item in seq {
                guard let text = item.string, let id = try? DeviceID(validating: text) else {
                    throw context.error(item, "'\(item.string ?? "?")' is not a device id")
                }
                ids.insert(id)
            }
            scope.devices = ids
        }
        if let labels = mapping["labels"] {
            guard case .mapping(let pairs) = labels else {
                throw context.error(labels, "'labels:' needs a mapping, e.g. { site: lyon }")
            }
            for (key, value) in pairs {
                guard let k = key.string, let v = value.string else {
                    throw context.error(key, "labels are text: key: value")
                }
                scope.labels[k] = v
            }
        }
        guard scope.type != nil || scope.devices != nil || !scope.labels.isEmpty else {
            throw context.error(node, "'scope:' is empty; name a type, devices or labels (or write 'scope: all')")
        }
        return scope
    }

    func duration(_ node: Node?, key: String, context: DocumentContext) throws(RuleError) -> Int64? {
        guard let node else { return nil }
        guard let text = node.string, let ms = DurationText.milliseconds(text), ms >= 0,
            text.contains(where: \.isLetter)
        else {
            throw context.error(node, "'\(key):' needs a duration with a unit, e.g. 30s, 10m or 1h")
        }
        return ms
    }

    func flag(_ node: Node?, key: String, default value: Bool, context: DocumentContext) throws(RuleError) -> Bool {
        guard let node else { return value }
        guard let b = node.bool else { throw context.error(node, "'\(key):' must be true or false") }
        return b
    }
}
