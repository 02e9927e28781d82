#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one-pass reader behind ``LineProtocolDecoder``.
struct LineProtocolScanner {
    typealias Location = TelemetryDecodingError.Location
    typealias Output = LineProtocolDecoder.Output

    private let bytes: UnsafeBufferPointer<UInt8>
    private let defaultDevice: DeviceID?
    private let precision: LineProtocolDecoder.Precision
    private let validator: TelemetryValidator
    private var index = 0
    private var lineNumber = 0
    /// End of the current line's content (before `\r\n` or `\n`).
    private var lineEnd = 0
    private var batches: [TelemetryBatch] = []
    private var batchIndexByDevice: [DeviceID: Int] = [:]
    /// The device tag value of the previous line and its batch: lines of one device come in runs.
    private var lastDevice: (raw: Range<Int>, batch: Int)?
    private var sampleCount = 0
    private var skippedStringFields = 0
    /// Name caches by measurement (fields repeat per measurement, and lines of several
    /// measurements interleave); see ``cacheIndex(_:)``.
    private var measurements: [(key: Range<Int>, names: MetricNameCache)] = []

    init(
        bytes: UnsafeBufferPointer<UInt8>,
        defaultDevice: DeviceID?,
        precision: LineProtocolDecoder.Precision,
        validator: TelemetryValidator
    ) {
        self.bytes = bytes
        self.defaultDevice = defaultDevice
        self.precision = precision
        self.validator = validator
    }

    mutating func output() throws(TelemetryDecodingError) -> Output {
        var lineStart = 0
        while lineStart < bytes.count {
            lineNumber += 1
            var end = bytes.count
            if let base = bytes.baseAddress, let newline = memchr(base + lineStart, 0x0A, bytes.count - lineStart) {
                end = base.distance(to: newline.assumingMemoryBound(to: UInt8.self))
            }
            lineEnd = end > lineStart && bytes[end - 1] == 0x0D ? end - 1 : end
            index = lineStart
            try line()
            lineStart = end + 1
        }
        return Output(batches: batches, skippedStringFields: skippedStringFields)
    }

    // MARK: - Lines

    private mutating func line() throws(TelemetryDecodingError) {
        while index < lineEnd, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        if index == lineEnd || bytes[index] == UInt8(ascii: "#") { return }
        let lineStart = index

        let measurement = token(stoppingAtEquals: false)
        guard !measurement.range.isEmpty else { throw malformed("line has no measurement before \(found())") }

        var deviceTag: (token: Token, rank: Int)?
        while peek() == UInt8(ascii: ",") {
            index += 1
            let key = token(stoppingAtEquals: true)
            guard !key.range.isEmpty else { throw malformed("tag has no key before \(found())") }
            guard peek() == UInt8(ascii: "=") else {
                throw malformed("tag '\(text(key))' needs '=' and a value; found \(found())")
            }
            index += 1
            let value = token(stoppingAtEquals: false)
            guard !value.range.isEmpty else { throw malformed("tag '\(text(key))' has an empty value") }
            if let rank = deviceTagRank(key), rank < (deviceTag?.rank ?? .max) {
                deviceTag = (value, rank)
            }
        }
        guard peek() == UInt8(ascii: " ") else {
            throw malformed("expected a space and fields after the measurement and tags; found \(found())")
        }
        skipSpaces()
        guard index < lineEnd else { throw malformed("line has no fields (at least one field=value is required)") }
        let batch = try batchIndex(deviceTag: deviceTag?.token, lineStart: lineStart)

        let firstSample = batches[batch].samples.count
        let cache = cacheIndex(measurement)
        measurements[cache].names.startGroup()
        var position = 0
        while true {
            let keyStart = index
            let key = token(stoppingAtEquals: true)
            guard !key.range.isEmpty else { throw malformed("field has no key before \(found())") }
            guard peek() == UInt8(ascii: "=") else {
                throw malformed("field '\(text(key))' needs '=' and a value; found \(found())")
            }
            index += 1
            let name = try metricName(
                measurement: measurement,
                field: key,
                cache: cache,
                position: position,
                at: keyStart
            )
            position += 1
            if let value = try fieldValue(name) {
                batches[batch].samples.append(Sample(metric: name, timestamp: 0, value: value))
                sampleCount += 1
                try validator.checkSampleCount(sampleCount)
            }
            guard peek() == UInt8(ascii: ",") else { break }
            index += 1
        }

        let timestamp = try timestamp() ?? validator.receivedAt
        for position in firstSample..<batches[batch].samples.count {
            batches[batch].samples[position].timestamp = timestamp
        }
    }

    /// The batch of the line's device: the device tag, else the default device.
    private mutating func batchIndex(deviceTag: Token?, lineStart: Int) throws(TelemetryDecodingError) -> Int {
        guard let deviceTag else {
            guard let defaultDevice else { throw .missingDevice(location(lineStart)) }
            return batch(for: defaultDevice)
        }
        if let lastDevice, !deviceTag.hasEscapes, equal(lastDevice.raw, deviceTag.range) {
            return lastDevice.batch
        }
        let raw = unescaped(deviceTag)
        let rawText = String(decoding: raw, as: UTF8.self)
        let device: DeviceID
        do {
            device = try DeviceID(validating: rawText)
        } catch {
            throw .badDeviceID(rawText, reason: error.message, location(deviceTag.range.lowerBound))
        }
        let index = batch(for: device)
        lastDevice = deviceTag.hasEscapes ? nil : (deviceTag.range, index)
        return index
    }

    /// The batch of `device`, made if new. Few devices per payload is the rule: a linear search
    /// up to 8 batches, a dictionary beyond.
    private mutating func batch(for device: DeviceID) -> Int {
        if batches.count <= 8 {
            for index in batches.indices where batches[index].device == device { return index }
        } else {
            if batchIndexByDevice.isEmpty {
                for index in batches.indices { batchIndexByDevice[batches[index].device] = index }
            }
            if let index = batchIndexByDevice[device] { return index }
        }
        batches.append(TelemetryBatch(device: device, samples: []))
        if !batchIndexByDevice.isEmpty { batchIndexByDevice[device] = batches.count - 1 }
        return batches.count - 1
    }

    /// The name cache for a measurement: its own for the first 64 measurements without escapes,
    /// else the shared slot 0, whose names are recorded without keys so that they are never found
    /// by bytes (only checked for duplicates).
    private mutating func cacheIndex(_ measurement: Token) -> Int {
        if measurements.isEmpty {
            measurements.reserveCapacity(4)
            measurements.append((0..<0, MetricNameCache(payload: bytes)))
        }
        guard !measurement.hasEscapes else { return 0 }
        for position in 1..<measurements.count where equal(measurements[position].key, measurement.range) {
            return position
        }
        guard measurements.count <= 64 else { return 0 }
        measurements.append((measurement.range, MetricNameCache(payload: bytes)))
        return measurements.count - 1
    }

    /// 0 for `device`, 1 for `device_id`, 2 for `host`, nil for other tags.
    private func deviceTagRank(_ key: Token) -> Int? {
        guard !key.hasEscapes else { return nil }
        switch key.range.count {
        case 6: return matches(key.range, "device") ? 0 : nil
        case 9: return matches(key.range, "device_id") ? 1 : nil
        case 4: return matches(key.range, "host") ? 2 : nil
        default: return nil
        }
    }

    private func matches(_ range: Range<Int>, _ word: StaticString) -> Bool {
        word.withUTF8Buffer { expected in
            expected.count == range.count && equal(range, expected)
        }
    }

    /// Whether two ranges of the payload hold the same bytes.
    private func equal(_ lhs: Range<Int>, _ rhs: Range<Int>) -> Bool {
        lhs.count == rhs.count && equal(lhs, UnsafeBufferPointer(rebasing: bytes[rhs]))
    }

    private func equal(_ range: Range<Int>, _ other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard range.count == other.count else { return false }
        guard let base = bytes.baseAddress, let otherBase = other.baseAddress, !range.isEmpty else { return true }
        return memcmp(base + range.lowerBound, otherBase, range.count) == 0
    }

    /// `measurement.field` from two unescaped ranges, built in place.
    private func plainName(_ measurement: Range<Int>, _ field: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: measurement.count + 1 + field.count) { buffer in
            var position = 0
            for byte in bytes[measurement] {
                buffer[position] = byte
                position += 1
            }
            buffer[position] = UInt8(ascii: ".")
            position += 1
            for byte in bytes[field] {
                buffer[position] = byte
                position += 1
            }
            return position
        }
    }

    private mutating func metricName(
        measurement: Token,
        field: Token,
        cache: Int,
        position: Int,
        at keyStart: Int
    ) throws(TelemetryDecodingError) -> MetricName {
        let isPlain = cache != 0 && !field.hasEscapes
        if isPlain,
            let name = measurements[cache].names.lookup(position: position, key: field.range)
        {
            return name
        }
        let nameText = isPlain ? plainName(measurement.range, field.range) : text(measurement) + "." + text(field)
        let name = try validator.metricName(nameText, at: location(keyStart))
        guard measurements[cache].names.record(name, key: isPlain ? field.range : nil, position: position) else {
            throw malformed("field '\(text(field))' appears twice in the line", at: keyStart)
        }
        return name
    }

    // MARK: - Values

    /// A field's value as a number; nil for a string field (skipped and counted).
    private mutating func fieldValue(_ name: MetricName) throws(TelemetryDecodingError) -> Double? {
        let start = index
        if peek() == UInt8(ascii: "\"") {
            index += 1
            while index < lineEnd, bytes[index] != UInt8(ascii: "\"") {
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard index < lineEnd else {
                throw malformed("string value of field '\(name)' has no closing quote", at: start)
            }
            index += 1
            skippedStringFields += 1
            return nil
        }
        while index < lineEnd, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: " ") { index += 1 }
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
        guard let last = raw.last else { throw malformed("field '\(name)' has no value", at: start) }
        switch last {
        case UInt8(ascii: "i"):
            if let value = Self.integer(UnsafeBufferPointer(rebasing: raw.dropLast()), allowsSign: true) {
                return Double(value)
            }
        case UInt8(ascii: "u"):
            if let value = Self.unsigned(UnsafeBufferPointer(rebasing: raw.dropLast())) { return Double(value) }
        default:
            if let boolean = Self.boolean(raw) { return boolean ? 1 : 0 }
            if let number = Self.float(raw) {
                let value = number.double(text: raw)
                guard value.isFinite else {
                    throw .notFinite(metric: name.rawValue, text: text(start..<index), location(start))
                }
                return value
            }
            let word = text(start..<index).lowercased()
            if ["nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"].contains(word) {
                throw .notFinite(metric: name.rawValue, text: text(start..<index), location(start))
            }
        }
        throw malformed(
            "field '\(name)' value '\(text(start..<index))' is not a number (expected a float such as 1.5, an integer "
                + "such as 1i, an unsigned integer such as 1u, a boolean t/f, or a \"string\"), or is out of range",
            at: start
        )
    }

    /// The optional timestamp at the end of the line, in milliseconds.
    private mutating func timestamp() throws(TelemetryDecodingError) -> Int64? {
        if index < lineEnd, bytes[index] != UInt8(ascii: " ") {
            throw malformed("expected ',' or a space after the field value; found \(found())")
        }
        skipSpaces()
        guard index < lineEnd else { return nil }
        let start = index
        while index < lineEnd, bytes[index] != UInt8(ascii: " ") { index += 1 }
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
        skipSpaces()
        guard index == lineEnd else { throw malformed("unexpected \(found()) after the timestamp") }
        guard let value = Self.integer(raw, allowsSign: true) else {
            throw .badTimestamp(
                text: text(start..<start + raw.count),
                reason: "is not an integer number of \(precision.rawValue) (or is out of range)",
                location(start)
            )
        }
        let milliseconds: Int64
        switch precision {
        case .nanoseconds: milliseconds = TimeText.floorDivide(value, 1_000_000).quotient
        case .microseconds: milliseconds = TimeText.floorDivide(value, 1000).quotient
        case .milliseconds: milliseconds = value
        case .seconds:
            let (product, overflow) = value.multipliedReportingOverflow(by: 1000)
            guard !overflow else {
                throw .badTimestamp(text: text(start..<start + raw.count), reason: "is out of range", location(start))
            }
            milliseconds = product
        }
        try validator.checkTimestamp(milliseconds, at: location(start))
        return milliseconds
    }

    static func integer(_ raw: UnsafeBufferPointer<UInt8>, allowsSign: Bool) -> Int64? {
        guard let first = raw.first else { return nil }
        let isNegative = allowsSign && first == UInt8(ascii: "-")
        guard let magnitude = unsigned(isNegative ? UnsafeBufferPointer(rebasing: raw.dropFirst()) : raw) else {
            return nil
        }
        if isNegative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    static func unsigned(_ raw: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !raw.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in raw {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    static func boolean(_ raw: UnsafeBufferPointer<UInt8>) -> Bool? {
        switch raw.count {
        case 1:
            switch raw[0] {
            case UInt8(ascii: "t"), UInt8(ascii: "T"): return true
            case UInt8(ascii: "f"), UInt8(ascii: "F"): return false
            default: return nil
            }
        case 4, 5:
            guard raw[0] | 0x20 == UInt8(ascii: "t") || raw[0] | 0x20 == UInt8(ascii: "f") else { return nil }
            let words: [StaticString] = raw.count == 4 ? ["true", "True", "TRUE"] : ["false", "False", "FALSE"]
            for word in words where word.withUTF8Buffer({ $0.elementsEqual(raw) }) { return raw.count == 4 }
            return nil
        default:
            return nil
        }
    }

    /// `[+-]digits[.digits][e[+-]digits]` (digits on at least one side of the point).
    static func float(_ raw: UnsafeBufferPointer<UInt8>) -> DecimalNumber? {
        var number = DecimalNumber()
        var position = 0
        if position < raw.count, raw[position] == UInt8(ascii: "-") || raw[position] == UInt8(ascii: "+") {
            number.isNegative = raw[position] == UInt8(ascii: "-")
            position += 1
        }
        var digits = 0
        while position < raw.count, case let digit = raw[position] &- 0x30, digit < 10 {
            number.append(digit: digit, isFraction: false)
            digits += 1
            position += 1
        }
        if position < raw.count, raw[position] == UInt8(ascii: ".") {
            position += 1
            while position < raw.count, case let digit = raw[position] &- 0x30, digit < 10 {
                number.append(digit: digit, isFraction: true)
                digits += 1
                position += 1
            }
        }
        guard digits > 0 else { return nil }
        if position < raw.count, raw[position] == UInt8(ascii: "e") || raw[position] == UInt8(ascii: "E") {
            position += 1
            var isNegative = false
            if position < raw.count, raw[position] == UInt8(ascii: "-") || raw[position] == UInt8(ascii: "+") {
                isNegative = raw[position] == UInt8(ascii: "-")
                position += 1
            }
            var exponent = 0
            var exponentDigits = 0
            while position < raw.count, case let digit = raw[position] &- 0x30, digit < 10 {
                if exponent < 100_000 { exponent = exponent * 10 + Int(digit) }
                exponentDigits += 1
                position += 1
            }
            guard exponentDigits > 0 else { return nil }
            number.exponent += isNegative ? -exponent : exponent
        }
        return position == raw.count ? number : nil
    }

    // MARK: - Tokens

    /// A name or tag value: its bytes as sent, and whether it has backslash escapes.
    private struct Token {
        var range: Range<Int>
        var hasEscapes: Bool
    }

    /// Reads up to an unescaped `,` or space (and `=` when `stoppingAtEquals`).
    private mutating func token(stoppingAtEquals: Bool) -> Token {
        let start = index
        var hasEscapes = false
        while index < lineEnd {
            let byte = bytes[index]
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: " ") || (stoppingAtEquals && byte == UInt8(ascii: "="))
            {
                break
            }
            if byte == UInt8(ascii: "\\") && index + 1 < lineEnd {
                hasEscapes = true
                index += 2
            } else {
                index += 1
            }
        }
        return Token(range: start..<index, hasEscapes: hasEscapes)
    }

    /// The token's bytes with `\,`, `\=`, `\ ` and `\\` resolved.
    private func unescaped(_ token: Token) -> [UInt8] {
        guard token.hasEscapes else { return Array(bytes[token.range]) }
        var result: [UInt8] = []
        result.reserveCapacity(token.range.count)
        var position = token.range.lowerBound
        while position < token.range.upperBound {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\\"), position + 1 < token.range.upperBound {
                let next = bytes[position + 1]
                if next == UInt8(ascii: ",") || next == UInt8(ascii: "=") || next == UInt8(ascii: " ")
                    || next == UInt8(ascii: "\\")
                {
                    result.append(next)
                    position += 2
                    continue
                }
            }
            result.append(byte)
            position += 1
        }
        return result
    }

    // MARK: - Bytes and errors

    @inline(__always)
    private func peek() -> UInt8? { index < lineEnd ? bytes[index] : nil }

    private mutating func skipSpaces() {
        while index < lineEnd, bytes[index] == UInt8(ascii: " ") { index += 1 }
    }

    private func text(_ token: Token) -> String { String(decoding: unescaped(token), as: UTF8.self) }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    private func found() -> String {
        guard let byte = peek() else { return "the end of the line" }
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16))"
    }

    private func location(_ offset: Int) -> Location { Location(line: lineNumber, byte: offset) }

    private func malformed(_ reason: String, at offset: Int? = nil) -> TelemetryDecodingError {
        .malformedLine(location(offset ?? index), reason: reason)
    }
}
