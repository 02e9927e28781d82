/// Human-readable timestamps and time spans for error messages.
enum TimeText {
    /// `2030-01-01T00:00:00Z`, or `2030-01-01T00:00:00.123Z` when there are milliseconds.
    static func rfc3339(milliseconds: Int64) -> String {
        let (seconds, millis) = floorDivide(milliseconds, 1000)
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let date = CivilCalendar.date(days: Int(days))
        let hour = secondOfDay / 3600
        let minute = secondOfDay / 60 % 60
        let second = secondOfDay % 60
        var text =
            "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))"
            + "T\(pad(Int(hour), 2)):\(pad(Int(minute), 2)):\(pad(Int(second), 2))"
        if millis != 0 { text += ".\(pad(Int(millis), 3))" }
        return text + "Z"
    }

    /// "1423 days", "1.5 days", "2 days", "5 hours", "90 seconds", "250 ms": in the largest unit
    /// that fits, to the nearest tenth below 10 of it (so 1 day 23 h 59 min reads "2 days", not
    /// "1 day"), in whole units rounded down from 10 up (off by less than a tenth).
    static func span(milliseconds: Int64) -> String {
        let units: [(Int64, String)] = [(86_400_000, "day"), (3_600_000, "hour"), (60_000, "minute"), (1000, "second")]
        for (size, name) in units where milliseconds >= size {
            if milliseconds < 10 * size {
                let tenths = (milliseconds * 10 + size / 2) / size
                let whole = tenths / 10
                let text = tenths % 10 == 0 ? "\(whole)" : "\(whole).\(tenths % 10)"
                return "\(text) \(name)\(tenths == 10 ? "" : "s")"
            }
            let count = milliseconds / size
            return "\(count) \(name)\(count == 1 ? "" : "s")"
        }
        return "\(milliseconds) ms"
    }

    /// An amount over a limit and the limit, as ``span(milliseconds:)`` gives them, unless both
    /// would read the same ("1 day ahead; at most 1 day"): then both in seconds with their
    /// milliseconds ("86400.001 seconds"; "86400 seconds"), so the message never contradicts itself.
    static func spans(amount: Int64, limit: Int64) -> (amount: String, limit: String) {
        let (text, limitText) = (span(milliseconds: amount), span(milliseconds: limit))
        guard text == limitText, amount != limit else { return (text, limitText) }
        return (exactSeconds(amount), exactSeconds(limit))
    }

    /// "86400.001 seconds", "86400 seconds", "0.25 seconds".
    static func exactSeconds(_ milliseconds: Int64) -> String {
        let (seconds, millis) = floorDivide(milliseconds, 1000)
        guard millis != 0 else { return "\(seconds) seconds" }
        var fraction = pad(Int(millis), 3)
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(seconds).\(fraction) seconds"
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = value / divisor
        let remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(abs(value))
        let sign = value < 0 ? "-" : ""
        return sign + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
