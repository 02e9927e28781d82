import NIOCore

// Readers for the variable header and payload of each packet type (MQTT 5.0 §3, MQTT 3.1.1 §3).
// Each runs on a slice holding exactly one packet body; ``PacketDecoder`` checks afterwards that
// nothing is left over.

extension ByteBuffer {
    // MARK: - CONNECT

    /// Reads a CONNECT body (MQTT 5.0 §3.1.2, 3.1.1 §3.1.2). The protocol level it announces
    /// decides how the rest of the packet is read.
    mutating func readConnect() throws(PacketDecodingError) -> Connect {
        let name = try self.readMQTTString(field: "protocol name")
        let level = try self.readByte(field: "protocol level")
        // MQTT 3.1 ("MQIsdp", level 3) is a protocol we recognise but do not speak: the broker
        // answers with return code 0x01, so report the level rather than a bad name.
        if name == "MQIsdp" { throw .unsupportedProtocolVersion(level) }
        guard name == "MQTT" else { throw .invalidProtocolName(name) }
        guard let version = ProtocolVersion(rawValue: level) else { throw .unsupportedProtocolVersion(level) }

        let flags = try self.readByte(field: "connect flags")
        guard flags & 0x01 == 0 else { throw .invalidValue(field: "connect flags", detail: "reserved bit 0 is set") }
        let hasWill = flags & 0x04 != 0
        let willQoSBits = (flags >> 3) & 0b11
        let willRetain = flags & 0x20 != 0
        let hasPassword = flags & 0x40 != 0
        let hasUsername = flags & 0x80 != 0
        guard let willQoS = QoS(rawValue: willQoSBits) else {
            throw .invalidValue(field: "will QoS", detail: "both will QoS bits are set")
        }
        if !hasWill {
            guard willQoSBits == 0 else { throw .invalidValue(field: "will QoS", detail: "set without a will") }
            guard !willRetain else { throw .invalidValue(field: "will retain", detail: "set without a will") }
        }
        if version == .v311 && hasPassword && !hasUsername {
            throw .invalidValue(field: "password flag", detail: "set without a user name (MQTT-3.1.2-22)")
        }

        let keepAlive = try self.readTwoByteInteger(field: "keep alive")
        var properties = Properties()
        if version == .v5 {
            properties = try self.readProperties(context: .packet(1))
            if properties.authenticationData != nil && properties.authenticationMethod == nil {
                throw .protocolViolation("authentication data without an authentication method")
            }
        }
        let clientID = try self.readMQTTString(field: "client identifier")
        var will: Will?
        if hasWill {
            let willProperties = try version == .v5 ? self.readProperties(context: .will) : Properties()
            let topic = try self.readMQTTString(field: "will topic")
            let payload = try self.readBinaryData(field: "will payload")
            will = Will(topic: topic, payload: payload, qos: willQoS, retain: willRetain, properties: willProperties)
        }
        let username = try hasUsername ? self.readMQTTString(field: "user name") : nil
        let password = try hasPassword ? self.readBinaryData(field: "password") : nil
        return Connect(
            version: version,
            cleanStart: flags & 0x02 != 0,
            keepAliveSeconds: keepAlive,
            clientID: clientID,
            will: will,
            username: username,
            password: password,
            properties: properties
        )
    }

    // MARK: - CONNACK

    /// Reads a CONNACK body. MQTT 3.1.1 return codes 0-5 become the matching v5 reason codes.
    mutating func readConnAck(version: ProtocolVersion) throws(PacketDecodingError) -> ConnAck {
        let flags = try self.readByte(field: "connect acknowledge flags")
        guard flags & 0xFE == 0 else {
            throw .invalidValue(field: "connect acknowledge flags", detail: "reserved bits are set")
        }
        let code = try self.readByte(field: "connect reason code")
        switch version {
        case .v311:
            let reason: ReasonCode
            switch code {
            case 0: reason = .success
            case 1: reason = .unsupportedProtocolVersion
            case 2: reason = .clientIdentifierNotValid
            case 3: reason = .serverUnavailable
            case 4: reason = .badUserNameOrPassword
            case 5: reason = .notAuthorized
            default: throw .invalidValue(field: "connect return code", detail: "\(code) is not 0-5")
            }
            return ConnAck(sessionPresent: flags == 1, reasonCode: reason)
        case .v5:
            let properties = try self.readProperties(context: .packet(2))
            return ConnAck(sessionPresent: flags == 1, reasonCode: ReasonCode(rawValue: code), properties: properties)
        }
    }

    // MARK: - PUBLISH and its acknowledgements

    /// Reads a PUBLISH body. The payload is a slice of this buffer, not a copy.
    mutating func readPublish(flags: UInt8, version: ProtocolVersion) throws(PacketDecodingError) -> Publish {
        let topic = try self.readMQTTString(field: "topic name")
        // The fixed-header check has already rejected QoS 3.
        let qos = QoS(rawValue: (flags >> 1) & 0b11) ?? .exactlyOnce
        let packetID = try qos == .atMostOnce ? nil : self.readPacketIdentifier()
        let properties = try version == .v5 ? self.readProperties(context: .packet(3)) : Properties()
        let payload = self.readSlice(length: self.readableBytes) ?? ByteBuffer()
        return Publish(
            topic: topic,
            payload: payload,
            qos: qos,
            retain: flags & 0x01 != 0,
            dup: flags & 0x08 != 0,
            packetID: packetID,
            properties: properties
        )
    }

    /// Reads a PUBACK, PUBREC, PUBREL or PUBCOMP body. In MQTT 5.0 the reason code and the
    /// properties may be omitted (MQTT 5.0 §3.4.2.1: remaining length 2 means success, below 4
    /// means no properties).
    mutating func readPublishAck(type: UInt8, version: ProtocolVersion) throws(PacketDecodingError) -> PublishAck {
        let packetID = try self.readPacketIdentifier()
        guard version == .v5, self.readableBytes > 0 else { return PublishAck(packetID: packetID) }
        let reason = ReasonCode(rawValue: try self.readByte(field: "reason code"))
        let properties = try self.readableBytes > 0 ? self.readProperties(context: .packet(type)) : Properties()
        return PublishAck(packetID: packetID, reasonCode: reason, properties: properties)
    }

    // MARK: - SUBSCRIBE and UNSUBSCRIBE

    /// Reads a SUBSCRIBE body: at least one topic filter with its subscription options.
    mutating func readSubscribe(version: ProtocolVersion) throws(PacketDecodingError) -> Subscribe {
        let packetID = try self.readPacketIdentifier()
        let properties = try version == .v5 ? self.readProperties(context: .packet(8)) : Properties()
        var subscriptions: [SubscriptionRequest] = []
        while self.readableBytes > 0 {
            let filter = try self.readMQTTString(field: "topic filter")
            let options = try self.readByte(field: "subscription options")
            let reservedMask: UInt8 = version == .v5 ? 0xC0 : 0xFC
            guard options & reservedMask == 0 else {
                throw .invalidValue(field: "subscription options", detail: "reserved bits are set")
            }
            guard let qos = QoS(rawValue: options & 0b11) else {
                throw .invalidValue(field: "subscription options", detail: "maximum QoS is 3")
            }
            // Only reachable in v5: the reserved mask clears these bits for 3.1.1.
            guard let retainHandling = RetainHandling(rawValue: (options >> 4) & 0b11) else {
                throw .protocolViolation("retain handling 3 in SUBSCRIBE")
            }
            subscriptions.append(
                SubscriptionRequest(
                    filter: filter,
                    qos: qos,
                    noLocal: options & 0x04 != 0,
                    retainAsPublished: options & 0x08 != 0,
                    retainHandling: retainHandling
                )
            )
        }
        guard !subscriptions.isEmpty else { throw .protocolViolation("SUBSCRIBE without topic filters") }
        return Subscribe(packetID: packetID, subscriptions: subscriptions, properties: properties)
    }

    /// Reads a SUBACK body. MQTT 3.1.1 allows only return codes 0, 1, 2 and 0x80.
    mutating func readSubAck(version: ProtocolVersion) throws(PacketDecodingError) -> SubAck {
        let packetID = try self.readPacketIdentifier()
        let properties = try version == .v5 ? self.readProperties(context: .packet(9)) : Properties()
        var codes: [ReasonCode] = []
        codes.reserveCapacity(self.readableBytes)
        while let code = self.readInteger(as: UInt8.self) {
            if version == .v311 && code > 2 && code != 0x80 {
                throw .invalidValue(
                    field: "SUBACK return code",
                    detail: "0x\(String(code, radix: 16)) is not 0, 1, 2 or 0x80"
                )
            }
            codes.append(ReasonCode(rawValue: code))
        }
        return SubAck(packetID: packetID, reasonCodes: codes, properties: properties)
    }

    /// Reads an UNSUBSCRIBE body: at least one topic filter.
    mutating func readUnsubscribe(version: ProtocolVersion) throws(PacketDecodingError) -> Unsubscribe {
        let packetID = try self.readPacketIdentifier()
        let properties = try version == .v5 ? self.readProperties(context: .packet(10)) : Properties()
        var filters: [String] = []
        while self.readableBytes > 0 {
            filters.append(try self.readMQTTString(field: "topic filter"))
        }
        guard !filters.isEmpty else { throw .protocolViolation("UNSUBSCRIBE without topic filters") }
        return Unsubscribe(packetID: packetID, filters: filters, properties: properties)
    }

    /// Reads an UNSUBACK body; MQTT 3.1.1 carries only the packet identifier.
    mutating func readUnsubAck(version: ProtocolVersion) throws(PacketDecodingError) -> UnsubAck {
        let packetID = try self.readPacketIdentifier()
        guard version == .v5 else { return UnsubAck(packetID: packetID, reasonCodes: []) }
        let properties = try self.readProperties(context: .packet(11))
        var codes: [ReasonCode] = []
        codes.reserveCapacity(self.readableBytes)
        while let code = self.readInteger(as: UInt8.self) { codes.append(ReasonCode(rawValue: code)) }
        return UnsubAck(packetID: packetID, reasonCodes: codes, properties: properties)
    }

    // MARK: - DISCONNECT and AUTH

    /// Reads a DISCONNECT body: empty in 3.1.1; in 5.0 the reason code and properties may be
    /// omitted (MQTT 5.0 §3.14.2.1).
    mutating func readDisconnect(version: ProtocolVersion) throws(PacketDecodingError) -> Disconnect {
        guard version == .v5, self.readableBytes > 0 else { return Disconnect() }
        let reason = ReasonCode(rawValue: try self.readByte(field: "reason code"))
        let properties = try self.readableBytes > 0 ? self.readProperties(context: .packet(14)) : Properties()
        return Disconnect(reasonCode: reason, properties: properties)
    }

    /// Reads an AUTH body (MQTT 5.0 only); an empty body means success without properties.
    mutating func readAuth() throws(PacketDecodingError) -> Auth {
        guard self.readableBytes > 0 else { return Auth() }
        let reason = ReasonCode(rawValue: try self.readByte(field: "reason code"))
        let properties = try self.readableBytes > 0 ? self.readProperties(context: .packet(15)) : Properties()
        return Auth(reasonCode: reason, properties: properties)
    }
}
