import ReflexNode

/// Parsers for setting values; each throws a ``ValueProblem`` that completes "expected ...".
package enum ValueParsers {
    /// A whole number in `range`, with optional `_` separators (`1_048_576`) and, when given,
    /// unit suffixes (`KiB` → 1024), compared case-insensitively.
    /// - Parameters:
    ///   - noun: what is counted, for the message ("bytes", "connections").
    ///   - suffixes: accepted unit suffixes and their multipliers.
    package static func integer(
        _ text: String,
        in range: ClosedRange<Int>,
        of noun: String,
        suffixes: [String: Int] = [:]
    ) throws(ValueProblem) -> Int {
        let nounText = noun.isEmpty ? "" : " of \(noun)"
        let problem = ValueProblem(
            expected: "a whole number\(nounText) between \(range.lowerBound) and \(range.upperBound)",
            hint: suffixes.isEmpty
                ? nil
                : "units \(suffixes.sorted { $0.value < $1.value }.map(\.key).joined(separator: ", ")) are accepted"
        )
        var digits = Substring(text.trimmingWhitespace())
        var multiplier = 1
        for (suffix, factor) in suffixes where digits.lowercased().hasSuffix(suffix.lowercased()) {
            digits = digits.dropLast(suffix.count)
            multiplier = factor
            break
        }
        digits = Substring(digits.trimmingWhitespace().filter { $0 != "_" })
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = Int(digits) else { throw problem }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow, range.contains(product) else { throw problem }
        return product
    }

    /// Size units for byte counts.
    package static let byteSuffixes = ["KiB": 1024, "MiB": 1024 * 1024]

    /// Seconds as a whole number, or with a unit: `90`, `90s`, `5m`, `2h`, `7d`.
    package static func seconds(
        _ text: String,
        in range: ClosedRange<Int>,
        note: String? = nil
    ) throws(ValueProblem) -> Int {
        let noteText = note.map { " (\($0))" } ?? ""
        let problem = ValueProblem(
            expected: "a duration in seconds between \(range.lowerBound) and \(range.upperBound)\(noteText)",
            hint: "write seconds, or add a unit: 90s, 5m, 2h, 7d"
        )
        do {
            return try integer(text, in: range, of: "", suffixes: ["s": 1, "m": 60, "h": 3600, "d": 86_400])
        } catch {
            throw problem
        }
    }

    /// One of `choices`, compared case-insensitively; suggests the closest on a typo.
    package static func choice<Value>(
        _ text: String,
        among choices: [(name: String, value: Value)]
    ) throws(ValueProblem) -> Value {
        let trimmed = text.trimmingWhitespace()
        if let match = choices.first(where: { $0.name.lowercased() == trimmed.lowercased() }) {
            return match.value
        }
        let names = choices.map(\.name)
        let suggestion = Suggestion.closest(to: trimmed, in: names).map { "did you mean '\($0)'?" }
        throw ValueProblem(expected: "one of \(names.joined(separator: ", "))", hint: suggestion)
    }

    /// A Boolean: true/false, yes/no, on/off or 1/0, compared case-insensitively.
    package static func boolean(_ text: String) throws(ValueProblem) -> Bool {
        switch text.trimmingWhitespace().lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ValueProblem(expected: "true or false", hint: "yes/no, on/off and 1/0 are accepted too")
        }
    }

    /// A non-empty file system path, kept as written (relative to the working directory).
    package static func path(_ text: String, of what: String) throws(ValueProblem) -> String {
        guard !text.trimmingWhitespace().isEmpty else {
            throw ValueProblem(expected: "the path of \(what)")
        }
        return text
    }
}
