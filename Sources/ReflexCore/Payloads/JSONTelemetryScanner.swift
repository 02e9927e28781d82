/// The one-pass JSON reader behind ``JSONTelemetryDecoder``: it knows the telemetry shape and
/// rejects everything else at the first byte that does not fit.
struct JSONTelemetryScanner {
    typealias Location = TelemetryDecodingError.Location

    private let bytes: UnsafeBufferPointer<UInt8>
    private let validator: TelemetryValidator
    private var index = 0
    private var output: [Sample] = []
    private var names: MetricNameCache

    init(bytes: UnsafeBufferPointer<UInt8>, validator: TelemetryValidator) {
        self.bytes = bytes
        self.validator = validator
        self.names = MetricNameCache(payload: bytes)
    }

    // MARK: - Structure

    mutating func samples() throws(TelemetryDecodingError) -> [Sample] {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "{"):
            try message()
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                break
            }
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "{") else {
                    throw malformed(
                        "array elements must be telemetry objects {\"ts\": ..., \"values\": {...}}; found \(found())"
                    )
                }
                try message()
                skipWhitespace()
                if try endOfList(closing: UInt8(ascii: "]"), in: "the array") { break }
            }
        case nil:
            throw malformed("payload is empty; expected a JSON object or array")
        default:
            throw malformed("expected a JSON object or array; found \(found())")
        }
        skipWhitespace()
        guard index == bytes.count else { throw malformed("unexpected \(found()) after the end of the JSON value") }
        return output
    }

    /// One `{"ts": ..., "values": {...}}` object; `index` is at its `{`.
    private mutating func message() throws(TelemetryDecodingError) {
        let objectStart = index
        index += 1
        let firstSample = output.count
        var timestamp: Int64?
        var timestampStart: Int?
        var sawValues = false
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                let keyStart = index
                let key = try string(what: "a key")
                try colon()
                if key.elementsEqual("ts".utf8) {
                    guard timestampStart == nil else { throw malformed("key 'ts' appears twice", at: keyStart) }
                    timestampStart = index
                    timestamp = try timestampValue()
                } else if key.elementsEqual("values".utf8) {
                    guard !sawValues else { throw malformed("key 'values' appears twice", at: keyStart) }
                    sawValues = true
                    try values()
                } else {
                    throw malformed(
                        "unknown key '\(String(decoding: key, as: UTF8.self))' in a telemetry object; "
                            + "expected 'ts' and 'values'",
                        at: keyStart
                    )
                }
                skipWhitespace()
                if try endOfList(closing: UInt8(ascii: "}"), in: "the telemetry object") { break }
            }
        }
        guard sawValues else {
            throw malformed(
                "telemetry object has no 'values' (expected {\"ts\": ..., \"values\": {...}})",
                at: objectStart
            )
        }
        if let timestamp, let timestampStart {
            try validator.checkTimestamp(timestamp, at: location(timestampStart))
        }
        let resolved = timestamp ?? validator.receivedAt
        for position in firstSample..<output.count { output[position].timestamp = resolved }
    }

    /// The `values` object; `index` is before its `{`.
    private mutating func values() throws(TelemetryDecodingError) {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else {
            throw malformed("'values' must be an object of metric names to numbers; found \(found())")
        }
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        names.startGroup()
        var position = 0
        while true {
            skipWhitespace()
            let name = try metricName(position: position)
            position += 1
            try colon()
            skipWhitespace()
            if let value = try metricValue(name) {
                output.append(Sample(metric: name, timestamp: 0, value: value))
                try validator.checkSampleCount(output.count)
            }
            skipWhitespace()
            if try endOfList(closing: UInt8(ascii: "}"), in: "'values'") { break }
        }
    }

    /// Records a key that the cache did not have, rejecting a duplicate within the object.
    private mutating func remember(
        _ name: MetricName,
        key: Range<Int>?,
        position: Int,
        keyStart: Int
    ) throws(TelemetryDecodingError) {
        guard names.record(name, key: key, position: position) else {
            throw malformed(
                "metric '\(name)' appears twice in one 'values' object; send one value per metric and timestamp",
                at: keyStart
            )
        }
    }

    /// After a member: consumes `,` (returns false) or the closing bracket (returns true).
    private mutating func endOfList(closing: UInt8, in container: String) throws(TelemetryDecodingError) -> Bool {
        switch peek() {
        case UInt8(ascii: ","):
            index += 1
            skipWhitespace()
            if peek() == closing { throw malformed("trailing ',' before the end of \(container)") }
            return false
        case closing:
            index += 1
            return true
        case nil:
            throw malformed("payload ends inside \(container) (truncated?)")
        default:
            throw malformed("expected ',' or '\(Character(Unicode.Scalar(closing)))' in \(container); found \(found())")
        }
    }

    private mutating func colon() throws(TelemetryDecodingError) {
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw malformed("expected ':' after the key; found \(found())") }
        index += 1
        skipWhitespace()
    }

    // MARK: - Values

    /// A metric's value: a number or boolean, `nil` for `null`.
    private mutating func metricValue(_ name: MetricName) throws(TelemetryDecodingError) -> Double? {
        let start = index
        switch peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return 1
        case UInt8(ascii: "f"):
            try literal("false")
            return 0
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        case UInt8(ascii: "N"):
            try literal("NaN")
            throw .notFinite(metric: name.rawValue, text: "NaN", location(start))
        case UInt8(ascii: "I"):
            try literal("Infinity")
            throw .notFinite(metric: name.rawValue, text: "Infinity", location(start))
        case UInt8(ascii: "\""):
            throw .wrongValueType(metric: name.rawValue, found: "a string", location(start))
        case UInt8(ascii: "{"):
            throw .wrongValueType(metric: name.rawValue, found: "an object", location(start))
        case UInt8(ascii: "["):
            throw .wrongValueType(metric: name.rawValue, found: "an array", location(start))
        case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "I"):
            index += 1
            try literal("Infinity")
            throw .notFinite(metric: name.rawValue, text: "-Infinity", location(start))
        default:
            let number = try number()
            let value = number.double(text: UnsafeBufferPointer(rebasing: bytes[start..<index]))
            guard value.isFinite else {
                throw .notFinite(metric: name.rawValue, text: text(start..<index), location(start))
            }
            return value
        }
    }

    /// `ts`: milliseconds (integer or float), an RFC 3339 string, or `null`.
    private mutating func timestampValue() throws(TelemetryDecodingError) -> Int64? {
        let start = index
        switch peek() {
        case UInt8(ascii: "\""):
            let raw = try string(what: "'ts'")
            do {
                return try raw.withUnsafeBufferPointer { buffer throws(RFC3339Parser.Failure) in
                    try RFC3339Parser.milliseconds(buffer)
                }
            } catch {
                throw .badTimestamp(text: String(decoding: raw, as: UTF8.self), reason: error.reason, location(start))
            }
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        case let byte? where byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39):
            let number = try number()
            let value = number.double(text: UnsafeBufferPointer(rebasing: bytes[start..<index])).rounded(.down)
            // 2^63 is exactly representable; anything at or above it does not fit an Int64.
            guard value.isFinite, value >= -9.223_372_036_854_775_808e18, value < 9.223_372_036_854_775_808e18 else {
                throw .badTimestamp(text: text(start..<index), reason: "is out of range", location(start))
            }
            return Int64(value)
        default:
            throw malformed("'ts' must be milliseconds since the epoch or an RFC 3339 string; found \(found())")
        }
    }

    /// An RFC 8259 number; `index` moves past it.
    private mutating func number() throws(TelemetryDecodingError) -> DecimalNumber {
        var number = DecimalNumber()
        if peek() == UInt8(ascii: "-") {
            number.isNegative = true
            index += 1
        }
        guard let first = digit() else { throw malformed("expected a value; found \(found())") }
        index += 1
        number.append(digit: first, isFraction: false)
        if first != 0 {
            while let next = digit() {
                number.append(digit: next, isFraction: false)
                index += 1
            }
        } else if digit() != nil {
            throw malformed("numbers cannot have leading zeros")
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard digit() != nil else { throw malformed("expected a digit after the decimal point; found \(found())") }
            while let next = digit() {
                number.append(digit: next, isFraction: true)
                index += 1
            }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            var isNegative = false
            if peek() == UInt8(ascii: "-") || peek() == UInt8(ascii: "+") {
                isNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard digit() != nil else { throw malformed("expected a digit in the exponent; found \(found())") }
            var exponent = 0
            while let next = digit() {
                if exponent < 100_000 { exponent = exponent * 10 + Int(next) }
                index += 1
            }
            number.exponent += isNegative ? -exponent : exponent
        }
        return number
    }

    private mutating func literal(_ word: StaticString) throws(TelemetryDecodingError) {
        let length = word.utf8CodeUnitCount
        let matches =
            index + length <= bytes.count
            && word.withUTF8Buffer { expected in expected.elementsEqual(bytes[index..<index + length]) }
        guard matches else { throw malformed("expected a value; found \(found())") }
        index += length
    }

    // MARK: - Strings

    /// A metric name key, validated; from the cache when the previous object had the same key at
    /// the same position, else checked against the object's earlier keys.
    private mutating func metricName(position: Int) throws(TelemetryDecodingError) -> MetricName {
        let start = index
        guard peek() == UInt8(ascii: "\"") else {
            throw malformed("expected a metric name in quotes; found \(found())")
        }
        var end = index + 1
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20
        {
            end += 1
        }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let key = start + 1..<end
            index = end + 1
            if let name = names.lookup(position: position, key: key) { return name }
            let raw = UnsafeBufferPointer(rebasing: bytes[key])
            let name = try validator.metricName(String(decoding: raw, as: UTF8.self), at: location(start))
            try remember(name, key: key, position: position, keyStart: start)
            return name
        }
        let decoded = try string(what: "a metric name")
        let name = try validator.metricName(String(decoding: decoded, as: UTF8.self), at: location(start))
        try remember(name, key: nil, position: position, keyStart: start)
        return name
    }

    /// A JSON string's content as UTF-8, escapes resolved; `index` is at the opening quote.
    private mutating func string(what: String) throws(TelemetryDecodingError) -> [UInt8] {
        guard peek() == UInt8(ascii: "\"") else { throw malformed("expected \(what) in quotes; found \(found())") }
        index += 1
        var result: [UInt8] = []
        while true {
            guard let byte = peek() else { throw malformed("payload ends inside a string (truncated?)") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return result
            case UInt8(ascii: "\\"):
                try escape(into: &result)
            case 0..<0x20:
                throw malformed("control character 0x\(String(byte, radix: 16)) in a string must be escaped")
            default:
                result.append(byte)
                index += 1
            }
        }
    }

    private mutating func escape(into result: inout [UInt8]) throws(TelemetryDecodingError) {
        let start = index
        index += 1
        guard let code = peek() else { throw malformed("payload ends inside a string (truncated?)") }
        index += 1
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(code)
        case UInt8(ascii: "b"): result.append(0x08)
        case UInt8(ascii: "f"): result.append(0x0C)
        case UInt8(ascii: "n"): result.append(0x0A)
        case UInt8(ascii: "r"): result.append(0x0D)
        case UInt8(ascii: "t"): result.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4(escapeStart: start)
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw malformed("\\u escape is a lone high surrogate; a low surrogate must follow", at: start) }
                index += 2
                let low = try hex4(escapeStart: start)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw malformed("\\u escape: high surrogate is not followed by a low surrogate", at: start)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw malformed("\\u escape is a lone low surrogate", at: start)
            }
            guard let unicodeScalar = Unicode.Scalar(scalar) else {
                throw malformed("\\u escape is not a Unicode scalar", at: start)
            }
            result.append(contentsOf: UTF8.encode(unicodeScalar).map { Array($0) } ?? [])
        default:
            throw malformed("invalid escape '\\\(Character(Unicode.Scalar(code)))' in a string", at: start)
        }
    }

    private mutating func hex4(escapeStart: Int) throws(TelemetryDecodingError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw malformed("payload ends inside a \\u escape (truncated?)") }
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
            default: throw malformed("\\u escape needs 4 hex digits", at: escapeStart)
            }
            value = value << 4 | UInt32(nibble)
            index += 1
        }
        return value
    }

    // MARK: - Bytes and errors

    @inline(__always)
    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    @inline(__always)
    private func digit() -> UInt8? {
        guard index < bytes.count else { return nil }
        let value = bytes[index] &- UInt8(ascii: "0")
        return value < 10 ? value : nil
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// What is at `index`, for messages: "'x'", "end of payload".
    private func found() -> String {
        guard let byte = peek() else { return "the end of the payload (truncated?)" }
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16))"
    }

    private func location(_ offset: Int) -> Location {
        var line = 1
        for byte in bytes[..<min(offset, bytes.count)] where byte == 0x0A { line += 1 }
        return Location(line: line, byte: offset)
    }

    private func malformed(_ reason: String, at offset: Int? = nil) -> TelemetryDecodingError {
        .malformedJSON(location(offset ?? index), reason: reason)
    }
}
