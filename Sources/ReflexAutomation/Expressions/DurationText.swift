/// Durations as rules and requests write them: `500ms`, `30s`, `10m`, `2h`, `1d`.
public enum DurationText {
    /// The duration in milliseconds, or nil if `text` is not a positive number with a unit.
    public static func milliseconds(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: " ")
        var digits = ""
        var unit = ""
        for ch in trimmed {
            if unit.isEmpty, ch.isNumber || ch == "." { digits.append(ch) } else { unit.append(ch) }
        }
        guard let value = Double(digits), value >= 0, let factor = factor(unit) else { return nil }
        let ms = value * factor
        guard ms.isFinite, ms < 1e15 else { return nil }
        return Int64(ms.rounded())
    }

    /// Milliseconds per unit: ms, s, m, h, d.
    static func factor(_ unit: String) -> Double? {
        switch unit {
        case "ms": 1
        case "s": 1000
        case "m", "min": 60_000
        case "h": 3_600_000
        case "d": 86_400_000
        default: nil
        }
    }

    /// A compact text for a duration in milliseconds: `90s` → "1m30s", `600000` → "10m".
    public static func format(_ milliseconds: Int64) -> String {
        if milliseconds % 1000 != 0 || milliseconds == 0 { return "\(milliseconds)ms" }
        var seconds = milliseconds / 1000
        var out = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where seconds >= size {
            out += "\(seconds / size)\(unit)"
            seconds %= size
        }
        if seconds > 0 { out += "\(seconds)s" }
        return out
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
