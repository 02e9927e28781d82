/// Why an operator action or a rule change was refused.
public enum AutomationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The thing does not exist (404).
    case notFound(String)
    /// The request is invalid (400).
    case invalid(String)
    /// The thing is not in a state that allows this (409).
    case conflict(String)
    /// A rule did not validate (400), with every problem.
    case invalidRule([RuleError])

    public var description: String {
        switch self {
        case .notFound(let m), .invalid(let m), .conflict(let m): m
        case .invalidRule(let errors): errors.map(\.description).joined(separator: "; ")
        }
    }
}
