import NIOCore

extension ByteBuffer {
    // MARK: - Reading

    /// Reads a property length and the properties that follow (MQTT 5.0 §2.2.2).
    ///
    /// Rejects identifiers that are unknown or not allowed in `context`
    /// (``PacketDecodingError/invalidProperty(identifier:packetType:)``, a malformed packet), and
    /// properties repeated or holding a value the specification calls a protocol error
    /// (``PacketDecodingError/protocolViolation(_:)``). User properties may repeat; subscription
    /// identifiers may repeat in PUBLISH only.
    mutating func readProperties(context: PropertyContext) throws(PacketDecodingError) -> Properties {
        let length = try self.readVariableByteInteger(field: "property length")
        guard var slice = self.readSlice(length: length) else { throw .truncated(field: "properties") }
        var properties = Properties()
        var seen: UInt64 = 0
        while slice.readableBytes > 0 {
            let identifier = try slice.readVariableByteInteger(field: "property identifier")
            guard PropertyKind.allowed(identifier) & context.bit != 0 else {
                throw .invalidProperty(
                    identifier: UInt8(truncatingIfNeeded: identifier),
                    packetType: context.packetType
                )
            }
            let id = UInt8(identifier)
            let repeatable = id == 0x26 || (id == 0x0B && context == .packet(3))
            if !repeatable {
                guard seen & (1 << UInt64(id)) == 0 else {
                    throw .protocolViolation(
                        "property 0x\(String(id, radix: 16)) appears twice in \(Packet.name(ofType: context.packetType).uppercased())"
                    )
                }
                seen |= 1 << UInt64(id)
            }
            try slice.readProperty(id, into: &properties)
        }
        return properties
    }

    private mutating func readProperty(_ id: UInt8, into p: inout Properties) throws(PacketDecodingError) {
        switch id {
        case 0x01: p.payloadFormatIndicator = try self.readBooleanByte(field: "payload format indicator")
        case 0x02: p.messageExpiryInterval = try self.readFourByteInteger(field: "message expiry interval")
        case 0x03: p.contentType = try self.readMQTTString(field: "content type")
        case 0x08: p.responseTopic = try self.readMQTTString(field: "response topic")
        case 0x09: p.correlationData = try self.readBinaryData(field: "correlation data")
        case 0x0B:
            let value = try self.readVariableByteInteger(field: "subscription identifier")
            guard value != 0 else { throw .protocolViolation("subscription identifier 0") }
            p.subscriptionIdentifiers.append(value)
        case 0x11: p.sessionExpiryInterval = try self.readFourByteInteger(field: "session expiry interval")
        case 0x12: p.assignedClientIdentifier = try self.readMQTTString(field: "assigned client identifier")
        case 0x13: p.serverKeepAlive = try self.readTwoByteInteger(field: "server keep alive")
        case 0x15: p.authenticationMethod = try self.readMQTTString(field: "authentication method")
        case 0x16: p.authenticationData = try self.readBinaryData(field: "authentication data")
        case 0x17: p.requestProblemInformation = try self.readBooleanByte(field: "request problem information")
        case 0x18: p.willDelayInterval = try self.readFourByteInteger(field: "will delay interval")
        case 0x19: p.requestResponseInformation = try self.readBooleanByte(field: "request response information")
        case 0x1A: p.responseInformation = try self.readMQTTString(field: "response information")
        case 0x1C: p.serverReference = try self.readMQTTString(field: "server reference")
        case 0x1F: p.reasonString = try self.readMQTTString(field: "reason string")
        case 0x21:
            let value = try self.readTwoByteInteger(field: "receive maximum")
            guard value != 0 else { throw .protocolViolation("receive maximum 0") }
            p.receiveMaximum = value
        case 0x22: p.topicAliasMaximum = try self.readTwoByteInteger(field: "topic alias maximum")
        // Topic alias 0 is answered with 0x94 (topic alias invalid) by the session, not here.
        case 0x23: p.topicAlias = try self.readTwoByteInteger(field: "topic alias")
        case 0x24: p.maximumQoS = try self.readBooleanByte(field: "maximum QoS")
        case 0x25: p.retainAvailable = try self.readBooleanByte(field: "retain available")
        case 0x26:
            let name = try self.readMQTTString(field: "user property name")
            let value = try self.readMQTTString(field: "user property value")
            p.userProperties.append(UserProperty(name: name, value: value))
        case 0x27:
            let value = try self.readFourByteInteger(field: "maximum packet size")
            guard value != 0 else { throw .protocolViolation("maximum packet size 0") }
            p.maximumPacketSize = value
        case 0x28: p.wildcardSubscriptionAvailable = try self.readBooleanByte(field: "wildcard subscription available")
        case 0x29:
            p.subscriptionIdentifiersAvailable = try self.readBooleanByte(field: "subscription identifiers available")
        case 0x2A: p.sharedSubscriptionAvailable = try self.readBooleanByte(field: "shared subscription available")
        default: preconditionFailure("property 0x\(String(id, radix: 16)) passed the table check but has no reader")
        }
    }

    /// Reads a byte property whose only valid values are 0 and 1 (a protocol error otherwise).
    private mutating func readBooleanByte(field: String) throws(PacketDecodingError) -> UInt8 {
        let value = try self.readByte(field: field)
        guard value <= 1 else { throw .protocolViolation("\(field) is \(value), must be 0 or 1") }
        return value
    }

    // MARK: - Writing

    /// Writes the property length and every property that is set, in identifier order.
    ///
    /// The encoder trusts its caller: it writes whatever is set, allowed in the packet or not.
    mutating func writeProperties(_ p: Properties) {
        self.writeVariableByteInteger(Self.propertiesSize(p))
        if let v = p.payloadFormatIndicator { self.writeProperty(0x01, integer: v) }
        if let v = p.messageExpiryInterval { self.writeProperty(0x02, integer: v) }
        if let v = p.contentType { self.writeProperty(0x03, string: v) }
        if let v = p.responseTopic { self.writeProperty(0x08, string: v) }
        if let v = p.correlationData { self.writeProperty(0x09, binary: v) }
        for v in p.subscriptionIdentifiers {
            self.writeInteger(UInt8(0x0B))
            self.writeVariableByteInteger(v)
        }
        if let v = p.sessionExpiryInterval { self.writeProperty(0x11, integer: v) }
        if let v = p.assignedClientIdentifier { self.writeProperty(0x12, string: v) }
        if let v = p.serverKeepAlive { self.writeProperty(0x13, integer: v) }
        if let v = p.authenticationMethod { self.writeProperty(0x15, string: v) }
        if let v = p.authenticationData { self.writeProperty(0x16, binary: v) }
        if let v = p.requestProblemInformation { self.writeProperty(0x17, integer: v) }
        if let v = p.willDelayInterval { self.writeProperty(0x18, integer: v) }
        if let v = p.requestResponseInformation { self.writeProperty(0x19, integer: v) }
        if let v = p.responseInformation { self.writeProperty(0x1A, string: v) }
        if let v = p.serverReference { self.writeProperty(0x1C, string: v) }
        if let v = p.reasonString { self.writeProperty(0x1F, string: v) }
        if let v = p.receiveMaximum { self.writeProperty(0x21, integer: v) }
        if let v = p.topicAliasMaximum { self.writeProperty(0x22, integer: v) }
        if let v = p.topicAlias { self.writeProperty(0x23, integer: v) }
        if let v = p.maximumQoS { self.writeProperty(0x24, integer: v) }
        if let v = p.retainAvailable { self.writeProperty(0x25, integer: v) }
        for v in p.userProperties {
            self.writeInteger(UInt8(0x26))
            self.writeMQTTString(v.name)
            self.writeMQTTString(v.value)
        }
        if let v = p.maximumPacketSize { self.writeProperty(0x27, integer: v) }
        if let v = p.wildcardSubscriptionAvailable { self.writeProperty(0x28, integer: v) }
        if let v = p.subscriptionIdentifiersAvailable { self.writeProperty(0x29, integer: v) }
        if let v = p.sharedSubscriptionAvailable { self.writeProperty(0x2A, integer: v) }
    }

    private mutating func writeProperty(_ identifier: UInt8, integer value: some FixedWidthInteger) {
        self.writeInteger(identifier)
        self.writeInteger(value)
    }

    private mutating func writeProperty(_ identifier: UInt8, string value: String) {
        self.writeInteger(identifier)
        self.writeMQTTString(value)
    }

    private mutating func writeProperty(_ identifier: UInt8, binary value: ByteBuffer) {
        self.writeInteger(identifier)
        self.writeBinaryData(value)
    }

    /// The size of the properties without their length prefix.
    static func propertiesSize(_ p: Properties) -> Int {
        var size = 0
        if p.payloadFormatIndicator != nil { size += 2 }
        if p.messageExpiryInterval != nil { size += 5 }
        if let v = p.contentType { size += 1 + mqttStringSize(v) }
        if let v = p.responseTopic { size += 1 + mqttStringSize(v) }
        if let v = p.correlationData { size += 1 + binaryDataSize(v) }
        for v in p.subscriptionIdentifiers { size += 1 + variableByteIntegerSize(v) }
        if p.sessionExpiryInterval != nil { size += 5 }
        if let v = p.assignedClientIdentifier { size += 1 + mqttStringSize(v) }
        if p.serverKeepAlive != nil { size += 3 }
        if let v = p.authenticationMethod { size += 1 + mqttStringSize(v) }
        if let v = p.authenticationData { size += 1 + binaryDataSize(v) }
        if p.requestProblemInformation != nil { size += 2 }
        if p.willDelayInterval != nil { size += 5 }
        if p.requestResponseInformation != nil { size += 2 }
        if let v = p.responseInformation { size += 1 + mqttStringSize(v) }
        if let v = p.serverReference { size += 1 + mqttStringSize(v) }
        if let v = p.reasonString { size += 1 + mqttStringSize(v) }
        if p.receiveMaximum != nil { size += 3 }
        if p.topicAliasMaximum != nil { size += 3 }
        if p.topicAlias != nil { size += 3 }
        if p.maximumQoS != nil { size += 2 }
        if p.retainAvailable != nil { size += 2 }
        for v in p.userProperties { size += 1 + mqttStringSize(v.name) + mqttStringSize(v.value) }
        if p.maximumPacketSize != nil { size += 5 }
        if p.wildcardSubscriptionAvailable != nil { size += 2 }
        if p.subscriptionIdentifiersAvailable != nil { size += 2 }
        if p.sharedSubscriptionAvailable != nil { size += 2 }
        return size
    }

    /// The size of the properties including their variable-byte-integer length prefix.
    static func propertiesSizeWithLength(_ p: Properties) -> Int {
        let size = propertiesSize(p)
        return variableByteIntegerSize(size) + size
    }
}
