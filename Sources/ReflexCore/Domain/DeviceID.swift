/// A device's identifier: also its MQTT username and the `{id}` in `devices/{id}/...` topics.
///
/// Rules (checked once, at the boundary, by ``init(validating:)``): 1 to 128 bytes of ASCII
/// letters, digits, `-`, `_`, `.` and `:`; it cannot start with `.` (so it never looks like a
/// path) and cannot contain MQTT's special characters `/`, `+`, `#`.
public struct DeviceID: ValidatedIdentifier {
    public let rawValue: String

    /// Validates `rawValue` against the rules above.
    /// - Throws: ``DomainValidationError`` naming the problem.
    public init(validating rawValue: String) throws(DomainValidationError) {
        try Identifier.validate(rawValue, kind: "device id", maxLength: 128, allowsLeadingDigit: true)
        self.rawValue = rawValue
    }
}

/// A metric (signal) name within a device, such as `temperature` or `motor.current`.
///
/// Rules: 1 to 128 bytes; ASCII letters, digits, `_`, `.`, `-` and `:`; starts with a letter or
/// `_`. Quotes, spaces, slashes, SQL or unicode are rejected with a message that says so (a
/// name is used in topics, URLs, line protocol and file names, so it must be unambiguous).
public struct MetricName: ValidatedIdentifier {
    public let rawValue: String

    /// Validates `rawValue` against the rules above.
    /// - Throws: ``DomainValidationError`` naming the problem.
    public init(validating rawValue: String) throws(DomainValidationError) {
        try Identifier.validate(rawValue, kind: "metric name", maxLength: 128, allowsLeadingDigit: false)
        self.rawValue = rawValue
    }
}

/// A string identifier validated once, at the boundary, by ``init(validating:)``; then trusted.
/// It prints, sorts and encodes as its plain string, and decoding validates it again.
public protocol ValidatedIdentifier: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    var rawValue: String { get }
    init(validating rawValue: String) throws(DomainValidationError)
}

extension ValidatedIdentifier {
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        try self.init(validating: raw)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A value that broke a domain rule; the message names the value and the rule.
public struct DomainValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

enum Identifier {
    static func validate(
        _ value: String,
        kind: String,
        maxLength: Int,
        allowsLeadingDigit: Bool
    ) throws(DomainValidationError) {
        let bytes = value.utf8
        guard !bytes.isEmpty else { throw DomainValidationError("\(kind) is empty") }
        guard bytes.count <= maxLength else {
            throw DomainValidationError(
                "\(kind) '\(value.prefix(40))…' is \(bytes.count) bytes; the limit is \(maxLength)"
            )
        }
        for (offset, byte) in bytes.enumerated() {
            let isLetter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            let isDigit = byte >= 0x30 && byte <= 0x39
            let isPunctuation =
                byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: ":")
            guard isLetter || isDigit || isPunctuation else {
                throw DomainValidationError(
                    "\(kind) '\(value)' has a character not allowed at byte \(offset); use ASCII letters, digits, '_', '-', '.', ':'"
                )
            }
            if offset == 0 {
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ":")
                    || (!allowsLeadingDigit && isDigit)
                {
                    throw DomainValidationError(
                        "\(kind) '\(value)' must start with a letter\(allowsLeadingDigit ? ", a digit" : "") or '_'"
                    )
                }
            }
        }
    }
}
