import ReflexCore
import ReflexNode
import Yams

/// Reads `detection.rules` from a YAML configuration file: a list of mappings, each naming a
/// `deviceType` and/or a `metric` and any of `enabled`, `sensitivity`, `seasonality`, `range`.
///
/// The other `detection.*` keys are plain settings (``SettingKey``); only the rules are
/// structured, so they are read here, with messages that name the rule, its key, the file and
/// the line: "detection.rules[2].sensitivity in reflex.yaml line 9: expected a number from 0 to 1, got 'high'".
enum DetectionRulesYAML {
    /// Keys read here rather than as plain settings.
    static let structuredKeys: Set<String> = ["detection.rules"]
    /// The keys a rule may have.
    static let ruleKeys = ["deviceType", "metric", "enabled", "sensitivity", "seasonality", "range"]

    /// - Returns: the rules in file order; empty when the file has none.
    static func read(_ yaml: String, path: String) throws(ConfigurationError) -> [DetectionRule] {
        guard let root = try? Yams.compose(yaml: yaml), case .mapping(let top) = root,
            let detection = value(of: "detection", in: top), case .mapping(let section) = detection,
            let rulesNode = value(of: "rules", in: section)
        else { return [] }  // YAMLSettings reports malformed files and sections
        if case .scalar(let scalar) = rulesNode, ["", "~", "null"].contains(scalar.string) { return [] }
        guard case .sequence(let list) = rulesNode else {
            throw ConfigurationError(
                key: "detection.rules",
                message: "detection.rules in \(path)\(line(rulesNode)): expected a list of rules "
                    + "(- {deviceType: pump, metric: vibration, sensitivity: 0.7}), got \(describe(rulesNode))"
            )
        }
        var rules: [DetectionRule] = []
        var problems: [String] = []
        for (index, node) in list.enumerated() {
            do {
                rules.append(try rule(node, index: index, path: path))
            } catch {
                problems.append(error.message)
            }
        }
        guard problems.isEmpty else {
            throw ConfigurationError(key: "detection.rules", message: problems.joined(separator: "\n"))
        }
        return rules
    }

    private static func rule(_ node: Yams.Node, index: Int, path: String) throws(ConfigurationError) -> DetectionRule {
        let name = "detection.rules[\(index)]"
        guard case .mapping(let mapping) = node else {
            throw ConfigurationError(
                key: name,
                message: "\(name) in \(path)\(line(node)): expected a rule (deviceType, metric, enabled, "
                    + "sensitivity, seasonality, range), got \(describe(node))"
            )
        }
        var rule = DetectionRule()
        var problems: [String] = []
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? "?"
            let place = "\(name).\(key) in \(path)\(line(keyNode))"
            func fail(_ expected: String) {
                problems.append("\(place): expected \(expected), got \(describe(valueNode))")
            }
            let text = valueNode.scalar?.string
            switch key {
            case "deviceType":
                if let text, !text.isEmpty { rule.deviceType = text } else { fail("a device type such as pump") }
            case "metric":
                if let text, let metric = try? MetricName(validating: text) {
                    rule.metric = metric
                } else {
                    fail("a metric name (letters, digits, '_', '.', '-', ':')")
                }
            case "enabled":
                if let text, let value = try? ValueParsers.boolean(text) {
                    rule.isEnabled = value
                } else {
                    fail("true or false")
                }
            case "sensitivity":
                if let text, let value = Double(text), (0...1).contains(value) {
                    rule.sensitivity = value
                } else {
                    fail("a number from 0 to 1")
                }
            case "seasonality":
                if let text, let seconds = try? ValueParsers.seconds(text, in: 1...(366 * 86_400)) {
                    rule.seasonality = .seconds(seconds)
                } else {
                    fail("a duration such as 1h, 1d or 7d")
                }
            case "range":
                if case .sequence(let bounds) = valueNode, bounds.count == 2,
                    let low = bounds[0].scalar.flatMap({ Double($0.string) }),
                    let high = bounds[1].scalar.flatMap({ Double($0.string) }),
                    low.isFinite, high.isFinite, low < high
                {
                    rule.minimum = low
                    rule.maximum = high
                } else {
                    fail("[min, max] with min < max, e.g. [0, 50]")
                }
            default:
                let hint = Suggestion.closest(to: key, in: ruleKeys).map { "did you mean '\($0)'?" }
                problems.append(
                    "unknown key '\(name).\(key)' in \(path)\(line(keyNode)); "
                        + (hint ?? "a rule has the keys \(ruleKeys.joined(separator: ", "))")
                )
            }
        }
        if problems.isEmpty, rule.deviceType == nil, rule.metric == nil {
            problems.append("\(name) in \(path)\(line(node)): a rule needs a deviceType, a metric or both")
        }
        guard problems.isEmpty else {
            throw ConfigurationError(key: name, message: problems.joined(separator: "\n"))
        }
        return rule
    }

    private static func value(of key: String, in mapping: Yams.Node.Mapping) -> Yams.Node? {
        mapping.first { $0.key.string == key }?.value
    }

    private static func line(_ node: Yams.Node) -> String {
        node.mark.map { " line \($0.line)" } ?? ""
    }

    private static func describe(_ node: Yams.Node) -> String {
        switch node {
        case .scalar(let scalar): "'\(scalar.string)'"
        case .mapping: "a section"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

extension ValueParsers {
    /// A decimal number from 0 to 1 (a sensitivity).
    package static func fraction(_ text: String) throws(ValueProblem) -> Double {
        guard let value = Double(text.trimmingWhitespace()), (0...1).contains(value) else {
            throw ValueProblem(expected: "a number from 0 to 1", hint: "higher scores more samples as anomalous")
        }
        return value
    }
}
