public import NIOCore

/// Writes ``Packet`` values as MQTT 3.1.1 or 5.0 bytes.
///
/// The encoder trusts its caller: it writes the packet it is given without checking it against
/// the rules the ``PacketDecoder`` enforces (the broker builds its packets itself). Under 3.1.1,
/// properties are dropped and reason codes are mapped (CONNACK through
/// ``ReasonCode/v311ConnectReturnCode``, SUBACK through ``ReasonCode/v311SubackReturnCode``;
/// UNSUBACK and the PUBLISH acknowledgements carry only the packet identifier, DISCONNECT has
/// no body). Under 5.0 the short forms are used where the specification allows them: a PUBACK,
/// PUBREC, PUBREL or PUBCOMP with reason success and no properties is two bytes of packet
/// identifier; DISCONNECT and AUTH with success and no properties have an empty body; with only
/// a reason code the property length is omitted (not for AUTH).
///
/// AUTH does not exist in 3.1.1; asked to, the encoder writes the 5.0 form.
public enum PacketEncoder {
    /// Appends the encoding of `packet` to `buffer`, growing it at most once.
    /// - Parameters:
    ///   - packet: the packet to write. A PUBLISH with QoS above 0 and no packet identifier is
    ///     written with identifier 0; a QoS 0 PUBLISH never carries one.
    ///   - version: the protocol version of the connection. For CONNECT it is also the protocol
    ///     level written, whatever `Connect.version` says.
    ///   - buffer: where the bytes go.
    /// - Precondition: the remaining length fits a variable byte integer (268,435,455 bytes), and
    ///   every string and binary field fits 65,535 bytes. Packets decoded from a peer always do,
    ///   but a near-limit 3.1.1 PUBLISH re-encoded for 5.0 grows by its property length: check
    ///   ``encodedSize(_:version:)`` against ``maximumPacketSize`` (and the peer's limit) first.
    public static func encode(_ packet: Packet, version: ProtocolVersion, into buffer: inout ByteBuffer) {
        let remainingLength = Self.remainingLength(of: packet, version: version)
        buffer.reserveCapacity(
            minimumWritableBytes: 1 + ByteBuffer.variableByteIntegerSize(remainingLength) + remainingLength
        )
        buffer.writeInteger(Self.firstByte(of: packet))
        buffer.writeVariableByteInteger(remainingLength)
        Self.writeBody(of: packet, version: version, into: &buffer)
    }

    /// The largest packet MQTT can frame: a one-byte type, a four-byte remaining length and
    /// 268,435,455 bytes of body (MQTT 5.0 §1.5.5).
    public static let maximumPacketSize = 1 + 4 + 268_435_455

    /// The exact number of bytes ``encode(_:version:into:)`` writes for `packet`, fixed header
    /// included: what to compare with the peer's Maximum Packet Size before sending.
    public static func encodedSize(_ packet: Packet, version: ProtocolVersion) -> Int {
        let remainingLength = Self.remainingLength(of: packet, version: version)
        return 1 + ByteBuffer.variableByteIntegerSize(remainingLength) + remainingLength
    }

    // MARK: - Fixed header

    static func firstByte(of packet: Packet) -> UInt8 {
        let type = packet.typeNumber << 4
        switch packet {
        case .publish(let p):
            return type | (p.dup ? 0x08 : 0) | (p.qos.rawValue << 1) | (p.retain ? 0x01 : 0)
        case .pubrel, .subscribe, .unsubscribe:
            return type | 0b0010
        default:
            return type
        }
    }

    // MARK: - Sizes

    /// The size of the properties field with its length prefix under 5.0, nothing under 3.1.1.
    private static func propertiesSize(_ properties: Properties, _ version: ProtocolVersion) -> Int {
        version == .v5 ? ByteBuffer.propertiesSizeWithLength(properties) : 0
    }

    static func remainingLength(of packet: Packet, version: ProtocolVersion) -> Int {
        switch packet {
        case .connect(let c):
            var size = 6 + 1 + 1 + 2 + Self.propertiesSize(c.properties, version)
            size += ByteBuffer.mqttStringSize(c.clientID)
            if let will = c.will {
                size += Self.propertiesSize(will.properties, version)
                size += ByteBuffer.mqttStringSize(will.topic) + ByteBuffer.binaryDataSize(will.payload)
            }
            if let username = c.username { size += ByteBuffer.mqttStringSize(username) }
            if let password = c.password { size += ByteBuffer.binaryDataSize(password) }
            return size
        case .connack(let c):
            return 2 + Self.propertiesSize(c.properties, version)
        case .publish(let p):
            return ByteBuffer.mqttStringSize(p.topic) + (p.qos == .atMostOnce ? 0 : 2)
                + Self.propertiesSize(p.properties, version) + p.payload.readableBytes
        case .puback(let a), .pubrec(let a), .pubrel(let a), .pubcomp(let a):
            guard version == .v5 else { return 2 }
            if a.properties.isEmpty { return a.reasonCode == .success ? 2 : 3 }
            return 3 + ByteBuffer.propertiesSizeWithLength(a.properties)
        case .subscribe(let s):
            var size = 2 + Self.propertiesSize(s.properties, version)
            for subscription in s.subscriptions { size += ByteBuffer.mqttStringSize(subscription.filter) + 1 }
            return size
        case .suback(let s):
            return 2 + Self.propertiesSize(s.properties, version) + s.reasonCodes.count
        case .unsubscribe(let u):
            var size = 2 + Self.propertiesSize(u.properties, version)
            for filter in u.filters { size += ByteBuffer.mqttStringSize(filter) }
            return size
        case .unsuback(let u):
            guard version == .v5 else { return 2 }
            return 2 + ByteBuffer.propertiesSizeWithLength(u.properties) + u.reasonCodes.count
        case .pingreq, .pingresp:
            return 0
        case .disconnect(let d):
            guard version == .v5 else { return 0 }
            if d.properties.isEmpty { return d.reasonCode == .normalDisconnection ? 0 : 1 }
            return 1 + ByteBuffer.propertiesSizeWithLength(d.properties)
        case .auth(let a):
            if a.properties.isEmpty && a.reasonCode == .success { return 0 }
            return 1 + ByteBuffer.propertiesSizeWithLength(a.properties)
        }
    }

    // MARK: - Bodies

    private static func writeBody(of packet: Packet, version: ProtocolVersion, into buffer: inout ByteBuffer) {
        switch packet {
        case .connect(let c):
            Self.writeConnect(c, version: version, into: &buffer)
        case .connack(let c):
            buffer.writeInteger(UInt8(c.sessionPresent ? 1 : 0))
            switch version {
            case .v311:
                buffer.writeInteger(c.reasonCode.v311ConnectReturnCode)
            case .v5:
                buffer.writeInteger(c.reasonCode.rawValue)
                buffer.writeProperties(c.properties)
            }
        case .publish(let p):
            buffer.writeMQTTString(p.topic)
            if p.qos != .atMostOnce { buffer.writeInteger(p.packetID ?? 0) }
            if version == .v5 { buffer.writeProperties(p.properties) }
            buffer.writeImmutableBuffer(p.payload)
        case .puback(let a), .pubrec(let a), .pubrel(let a), .pubcomp(let a):
            buffer.writeInteger(a.packetID)
            guard version == .v5 else { return }
            if a.properties.isEmpty {
                if a.reasonCode != .success { buffer.writeInteger(a.reasonCode.rawValue) }
            } else {
                buffer.writeInteger(a.reasonCode.rawValue)
                buffer.writeProperties(a.properties)
            }
        case .subscribe(let s):
            buffer.writeInteger(s.packetID)
            if version == .v5 { buffer.writeProperties(s.properties) }
            for subscription in s.subscriptions {
                buffer.writeMQTTString(subscription.filter)
                buffer.writeInteger(Self.options(of: subscription, version: version))
            }
        case .suback(let s):
            buffer.writeInteger(s.packetID)
            if version == .v5 { buffer.writeProperties(s.properties) }
            for code in s.reasonCodes {
                buffer.writeInteger(version == .v5 ? code.rawValue : code.v311SubackReturnCode)
            }
        case .unsubscribe(let u):
            buffer.writeInteger(u.packetID)
            if version == .v5 { buffer.writeProperties(u.properties) }
            for filter in u.filters { buffer.writeMQTTString(filter) }
        case .unsuback(let u):
            buffer.writeInteger(u.packetID)
            guard version == .v5 else { return }
            buffer.writeProperties(u.properties)
            for code in u.reasonCodes { buffer.writeInteger(code.rawValue) }
        case .pingreq, .pingresp:
            return
        case .disconnect(let d):
            guard version == .v5, !(d.properties.isEmpty && d.reasonCode == .normalDisconnection) else { return }
            buffer.writeInteger(d.reasonCode.rawValue)
            if !d.properties.isEmpty { buffer.writeProperties(d.properties) }
        case .auth(let a):
            guard !(a.properties.isEmpty && a.reasonCode == .success) else { return }
            buffer.writeInteger(a.reasonCode.rawValue)
            buffer.writeProperties(a.properties)
        }
    }

    private static func writeConnect(_ c: Connect, version: ProtocolVersion, into buffer: inout ByteBuffer) {
        buffer.writeMQTTString("MQTT")
        buffer.writeInteger(version.rawValue)
        var flags: UInt8 = c.cleanStart ? 0x02 : 0
        if let will = c.will {
            flags |= 0x04 | (will.qos.rawValue << 3) | (will.retain ? 0x20 : 0)
        }
        if c.password != nil { flags |= 0x40 }
        if c.username != nil { flags |= 0x80 }
        buffer.writeInteger(flags)
        buffer.writeInteger(c.keepAliveSeconds)
        if version == .v5 { buffer.writeProperties(c.properties) }
        buffer.writeMQTTString(c.clientID)
        if let will = c.will {
            if version == .v5 { buffer.writeProperties(will.properties) }
            buffer.writeMQTTString(will.topic)
            buffer.writeBinaryData(will.payload)
        }
        if let username = c.username { buffer.writeMQTTString(username) }
        if let password = c.password { buffer.writeBinaryData(password) }
    }

    private static func options(of subscription: SubscriptionRequest, version: ProtocolVersion) -> UInt8 {
        guard version == .v5 else { return subscription.qos.rawValue }
        return subscription.qos.rawValue | (subscription.noLocal ? 0x04 : 0)
            | (subscription.retainAsPublished ? 0x08 : 0)
            | (subscription.retainHandling.rawValue << 4)
    }
}
