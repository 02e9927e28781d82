/// A problem in a rules file or a rule sent through the API: where, which rule, what.
public struct RuleError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `rules/pumps.yaml` or `api`.
    public var file: String
    /// 1-based line in the file, if known.
    public var line: Int?
    /// The rule's id, if it got that far.
    public var rule: String?
    public var message: String

    public init(file: String, line: Int?, rule: String?, message: String) {
        self.file = file
        self.line = line
        self.rule = rule
        self.message = message
    }

    /// "rules/pumps.yaml line 3, rule 'overheat': unknown metric 'temprature'; known: temperature, vibration"
    public var description: String {
        var out = file
        if let line { out += " line \(line)" }
        if let rule { out += ", rule '\(rule)'" }
        return out + ": " + message
    }
}

/// The closest candidate to `word` within an edit distance of 2, for "did you mean" hints.
func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
    var best: (String, Int)?
    for candidate in candidates {
        let d = editDistance(word, candidate)
        if d <= 2, d < (best?.1 ?? .max) { best = (candidate, d) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a)
    let y = Array(b)
    guard !x.isEmpty else { return y.count }
    guard !y.isEmpty else { return x.count }
    var previous = Array(0...y.count)
    for i in 1...x.count {
        var row = [i] + Array(repeating: 0, count: y.count)
        for j in 1...y.count {
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        previous = row
    }
    return previous[y.count]
}
