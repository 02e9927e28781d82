/// Why bytes from a client could not be decoded into a ``Packet``. Each case maps to the MQTT 5.0
/// reason code the server sends in its DISCONNECT (or CONNACK) before closing the connection.
public enum PacketDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The remaining length field uses more than four bytes or a non-minimal encoding.
    case malformedRemainingLength
    /// The packet is larger than the maximum packet size in force.
    case packetTooLarge(size: Int, limit: Int)
    /// The packet type is 0 (reserved), or 15 (AUTH) under MQTT 3.1.1.
    case unknownPacketType(UInt8)
    /// Fixed-header flags that the specification fixes were set differently.
    case invalidFixedHeaderFlags(packetType: UInt8, flags: UInt8)
    /// The packet ended before a field was complete.
    case truncated(field: String)
    /// Bytes were left after the last field.
    case trailingBytes(count: Int)
    /// A string is not well-formed UTF-8 (MQTT-1.5.4-1).
    case invalidUTF8(field: String)
    /// A string contains U+0000, which MQTT forbids in UTF-8 strings (MQTT-1.5.4-2); `offset`
    /// counts bytes from the start of the string.
    case nullCharacter(field: String, offset: Int)
    /// A property identifier is unknown or not allowed in this packet (MQTT 5.0 §2.2.2.2 calls
    /// that a malformed packet). A repeated property, or a property value the specification calls
    /// a protocol error (receive maximum 0, subscription identifier 0...), is reported as
    /// ``protocolViolation(_:)`` so that the reason code is 0x82.
    case invalidProperty(identifier: UInt8, packetType: UInt8)
    /// A field holds a value the specification forbids (QoS 3, reserved bits, packet id 0...).
    case invalidValue(field: String, detail: String)
    /// The CONNECT protocol name is not "MQTT".
    case invalidProtocolName(String)
    /// The CONNECT protocol level is not 4 or 5.
    case unsupportedProtocolVersion(UInt8)
    /// A protocol rule was broken that is not a malformed encoding (MQTT 5.0 reason 0x82).
    case protocolViolation(String)

    /// The reason code to report to the client.
    public var reasonCode: ReasonCode {
        switch self {
        case .packetTooLarge: .packetTooLarge
        case .unsupportedProtocolVersion: .unsupportedProtocolVersion
        case .protocolViolation, .unknownPacketType: .protocolError
        default: .malformedPacket
        }
    }

    /// A bounded label for metrics.
    public var metricLabel: String {
        switch self {
        case .malformedRemainingLength: "remaining_length"
        case .packetTooLarge: "too_large"
        case .unknownPacketType: "unknown_type"
        case .invalidFixedHeaderFlags: "reserved_flags"
        case .truncated: "truncated"
        case .trailingBytes: "trailing_bytes"
        case .invalidUTF8: "invalid_utf8"
        case .nullCharacter: "null_character"
        case .invalidProperty: "invalid_property"
        case .invalidValue: "invalid_value"
        case .invalidProtocolName: "protocol_name"
        case .unsupportedProtocolVersion: "protocol_version"
        case .protocolViolation: "protocol_violation"
        }
    }

    public var description: String {
        switch self {
        case .malformedRemainingLength: "remaining length is not a valid variable byte integer"
        case .packetTooLarge(let size, let limit): "packet of \(size) bytes exceeds the maximum of \(limit)"
        case .unknownPacketType(let t): "packet type \(t) is reserved or unknown"
        case .invalidFixedHeaderFlags(let t, let f):
            "\(Packet.name(ofType: t).uppercased()) has invalid fixed header flags 0x\(String(f, radix: 16))"
        case .truncated(let field): "packet ends inside \(field)"
        case .trailingBytes(let n): "\(n) unexpected bytes after the last field"
        case .invalidUTF8(let field): "\(field) is not valid UTF-8"
        case .nullCharacter(let field, let offset):
            "\(field) contains U+0000 at byte \(offset); MQTT forbids the null character in strings (MQTT-1.5.4-2)"
        case .invalidProperty(let id, let t):
            "property 0x\(String(id, radix: 16)) is not allowed (or repeated) in \(Packet.name(ofType: t).uppercased())"
        case .invalidValue(let field, let detail): "\(field): \(detail)"
        case .invalidProtocolName(let name): "protocol name '\(name)' is not MQTT"
        case .unsupportedProtocolVersion(let v): "protocol level \(v) is not supported (use 4 for 3.1.1 or 5 for 5.0)"
        case .protocolViolation(let what): "protocol violation: \(what)"
        }
    }
}
