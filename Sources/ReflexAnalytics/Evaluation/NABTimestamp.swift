/// Timestamps as NAB data files write them: `2014-04-01 00:00:00`, UTC, optionally with a
/// fractional part (`2014-04-10 07:15:00.000000`) or a `T` separator.
public enum NABTimestamp {
    /// Milliseconds since the Unix epoch of a NAB timestamp, or nil when `text` is not one.
    ///
    /// - Complexity: O(length of `text`); no `DateFormatter`, so a 16 000-row file parses in
    ///   well under a millisecond.
    public static func millis(_ text: Substring) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int64? {
            var total: Int64 = 0
            for index in from..<(from + count) {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                total = total * 10 + Int64(byte - 0x30)
            }
            return total
        }
        guard bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x20 || bytes[10] == 0x54,
            bytes[13] == 0x3A, bytes[16] == 0x3A,
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var millis: Int64 = 0
        if bytes.count > 19 {
            guard bytes[19] == 0x2E, bytes.count > 20 else { return nil }
            var scale: Int64 = 100
            for byte in bytes[20...] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                millis += Int64(byte - 0x30) * scale
                scale /= 10
            }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    ///
    /// - Complexity: O(1). Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms"
    ///   (`days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shifted = month <= 2 ? year - 1 : year
        let era = (shifted >= 0 ? shifted : shifted - 399) / 400
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
