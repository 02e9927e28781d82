/// Short human durations for data-quality details: `850 ms`, `12 s`, `4.5 min`, `3.2 h`, `2.1 d`.
enum DurationText {
    static func describe(milliseconds: Int64) -> String {
        let ms = Double(milliseconds)
        switch milliseconds {
        case ..<1_000: return "\(milliseconds) ms"
        case ..<60_000: return "\(rounded(ms / 1_000)) s"
        case ..<3_600_000: return "\(rounded(ms / 60_000)) min"
        case ..<86_400_000: return "\(rounded(ms / 3_600_000)) h"
        default: return "\(rounded(ms / 86_400_000)) d"
        }
    }

    static func describe(milliseconds: Double) -> String {
        guard milliseconds.isFinite else { return "?" }
        return describe(milliseconds: Int64(min(max(milliseconds, 0), 1e15).rounded()))
    }

    /// One decimal, without a trailing `.0`.
    static func rounded(_ value: Double) -> String {
        let tenths = (value * 10).rounded() / 10
        if tenths == tenths.rounded() { return "\(Int64(tenths))" }
        return "\(tenths)"
    }

    /// A value as it is usually written: integers without a decimal point.
    static func value(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return "\(Int64(value))" }
        return "\(value)"
    }
}
