import ReflexAutomation

/// Offline validation of a rules file, for `reflex rules validate FILE` (no server needed).
public enum RuleValidation {
    /// The problems of `text` (one line each: file, line, rule, problem) and the ids of the valid
    /// rules and fail-safe policies. Metric names are not checked offline (the known metrics come
    /// from a running server's devices).
    public static func validate(
        _ text: String,
        file: String
    ) -> (valid: [String], problems: [String], warnings: [String]) {
        let parsed = RuleParser().parse(text, file: file)
        var warnings: [String] = []
        for rule in parsed.rules { warnings += rule.warnings.map { "rule '\(rule.id)': \($0)" } }
        for (id, cycle) in RuleParser.crossRuleCycles(parsed.rules) { warnings.append("rule '\(id)': \(cycle)") }
        return (
            parsed.rules.map { "rule \($0.id)" } + parsed.failSafes.map { "failsafe \($0.deviceType)" },
            parsed.errors.map(\.description),
            warnings.sorted()
        )
    }
}
