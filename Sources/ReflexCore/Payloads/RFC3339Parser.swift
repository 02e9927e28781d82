/// Reads RFC 3339 timestamps (`2025-11-26T08:20:00.123Z`, `2025-11-26T09:20:00+01:00`) as
/// milliseconds since the Unix epoch, without Foundation or allocation.
///
/// Accepted: `T`, `t` or a space between date and time (RFC 3339 §5.6 note); any number of
/// fractional digits (truncated to milliseconds); `Z`, `z` or a `±HH:MM` offset. A leap second
/// (`:60`) counts as the first second of the next minute. The offset is required: a local time
/// without one is ambiguous.
enum RFC3339Parser {
    /// Why a text is not an RFC 3339 timestamp; `reason` completes "timestamp '...' ".
    struct Failure: Error {
        var reason: String
    }

    static func milliseconds(_ text: UnsafeBufferPointer<UInt8>) throws(Failure) -> Int64 {
        var reader = Reader(bytes: text)
        let year = try reader.digits(4, "a 4-digit year")
        try reader.expect(UInt8(ascii: "-"), "'-' after the year")
        let month = try reader.digits(2, "a 2-digit month")
        try reader.expect(UInt8(ascii: "-"), "'-' after the month")
        let day = try reader.digits(2, "a 2-digit day")
        guard (1...12).contains(month) else { throw Failure(reason: "has month \(month); months are 01 to 12") }
        guard day >= 1, day <= CivilCalendar.daysInMonth(year: year, month: month) else {
            throw Failure(reason: "has day \(day), which month \(month) of \(year) does not have")
        }
        guard let separator = reader.next(),
            separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ")
        else { throw Failure(reason: "needs 'T' and a time after the date (RFC 3339, e.g. 2025-11-26T08:20:00Z)") }
        let hour = try reader.digits(2, "a 2-digit hour")
        try reader.expect(UInt8(ascii: ":"), "':' after the hour")
        let minute = try reader.digits(2, "2-digit minutes")
        try reader.expect(UInt8(ascii: ":"), "':' after the minutes")
        let second = try reader.digits(2, "2-digit seconds")
        guard hour <= 23, minute <= 59, second <= 60 else {
            throw Failure(reason: "has time \(hour):\(minute):\(second), which is not a time of day")
        }
        var millis = 0
        if reader.peek() == UInt8(ascii: ".") {
            reader.index += 1
            var count = 0
            while let byte = reader.peek(), byte >= 0x30, byte <= 0x39 {
                if count < 3 { millis = millis * 10 + Int(byte - 0x30) }
                count += 1
                reader.index += 1
            }
            guard count > 0 else { throw Failure(reason: "needs digits after the decimal point") }
            for _ in count..<max(count, 3) { millis *= 10 }
        }
        var offsetMinutes = 0
        switch reader.next() {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            break
        case let sign? where sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"):
            let offsetHour = try reader.digits(2, "a 2-digit offset hour")
            try reader.expect(UInt8(ascii: ":"), "':' in the offset")
            let offsetMinute = try reader.digits(2, "2-digit offset minutes")
            guard offsetHour <= 23, offsetMinute <= 59 else {
                throw Failure(reason: "has offset \(offsetHour):\(offsetMinute), which is out of range")
            }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (sign == UInt8(ascii: "-") ? -1 : 1)
        default:
            throw Failure(reason: "needs a time zone: 'Z' or an offset such as +01:00")
        }
        guard reader.index == text.count else {
            throw Failure(reason: "has unexpected characters after the time zone")
        }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return Int64(seconds) * 1000 + Int64(millis)
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func next() -> UInt8? {
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
            guard next() == byte else { throw Failure(reason: "is not RFC 3339: expected \(what)") }
        }

        mutating func digits(_ count: Int, _ what: String) throws(Failure) -> Int {
            var value = 0
            for _ in 0..<count {
                guard let byte = next(), byte >= 0x30, byte <= 0x39 else {
                    throw Failure(reason: "is not RFC 3339: expected \(what)")
                }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
    }
}
