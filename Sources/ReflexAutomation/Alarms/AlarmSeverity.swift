/// How urgent an alarm is, most urgent first.
public enum AlarmSeverity: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case critical, major, minor, warning

    private var rank: Int {
        switch self {
        case .critical: 0
        case .major: 1
        case .minor: 2
        case .warning: 3
        }
    }

    /// More urgent sorts first.
    public static func < (a: AlarmSeverity, b: AlarmSeverity) -> Bool { a.rank < b.rank }
}
