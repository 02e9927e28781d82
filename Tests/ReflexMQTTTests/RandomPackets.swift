import NIOCore
import ReflexCore
import ReflexMQTT

/// Generates valid packets of every type from a seeded generator, for the fuzz test.
struct RandomPackets {
    var rng: SplitMix64

    init(seed: UInt64) { self.rng = SplitMix64(seed: seed) }

    private static let alphabet: [String] = ["a", "b", "z", "/", "+", "#", "0", "-", "é", "温", "🙂", "$", " "]

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    mutating func string(maxLength: Int = 12) -> String {
        var s = ""
        for _ in 0..<int(0...maxLength) { s += Self.alphabet[int(0...Self.alphabet.count - 1)] }
        return s
    }

    mutating func bytes(maxLength: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        for _ in 0..<int(0...maxLength) { buffer.writeInteger(UInt8.random(in: 0...255, using: &rng)) }
        return buffer
    }

    mutating func packetID() -> UInt16 { UInt16(int(1...65_535)) }
    mutating func qos() -> QoS { QoS(rawValue: UInt8(int(0...2))) ?? .atMostOnce }
    mutating func reason() -> ReasonCode { ReasonCode(rawValue: UInt8(int(0...255))) }

    /// Properties drawn from the identifiers allowed in `type` (15 + 1 = will properties).
    mutating func properties(forType type: Int, version: ProtocolVersion) -> Properties {
        var p = Properties()
        guard version == .v5, chance(60) else { return p }
        let isWill = type == 16
        if chance(30) { p.userProperties = (0..<int(1...3)).map { _ in UserProperty(name: string(), value: string()) } }
        switch type {
        case 1:
            if chance(40) { p.sessionExpiryInterval = UInt32(int(0...100_000)) }
            if chance(40) { p.receiveMaximum = UInt16(int(1...65_535)) }
            if chance(30) { p.maximumPacketSize = UInt32(int(1...1_000_000)) }
            if chance(30) { p.topicAliasMaximum = UInt16(int(0...100)) }
            if chance(20) { p.requestResponseInformation = UInt8(int(0...1)) }
            if chance(20) { p.requestProblemInformation = UInt8(int(0...1)) }
            if chance(20) {
                p.authenticationMethod = string()
                if chance(50) { p.authenticationData = bytes(maxLength: 8) }
            }
        case 2:
            if chance(30) { p.sessionExpiryInterval = UInt32(int(0...100_000)) }
            if chance(30) { p.assignedClientIdentifier = string() }
            if chance(30) { p.serverKeepAlive = UInt16(int(0...600)) }
            if chance(20) { p.maximumQoS = UInt8(int(0...1)) }
            if chance(20) { p.retainAvailable = UInt8(int(0...1)) }
            if chance(20) { p.reasonString = string() }
            if chance(20) { p.wildcardSubscriptionAvailable = UInt8(int(0...1)) }
            if chance(20) { p.sharedSubscriptionAvailable = UInt8(int(0...1)) }
            if chance(20) { p.subscriptionIdentifiersAvailable = UInt8(int(0...1)) }
            if chance(20) { p.responseInformation = string() }
            if chance(20) { p.serverReference = string() }
        case 3, 16:
            if chance(30) { p.payloadFormatIndicator = UInt8(int(0...1)) }
            if chance(30) { p.messageExpiryInterval = UInt32(int(0...100_000)) }
            if chance(20) { p.contentType = string() }
            if chance(20) { p.responseTopic = string() }
            if chance(20) { p.correlationData = bytes(maxLength: 8) }
            if isWill {
                if chance(30) { p.willDelayInterval = UInt32(int(0...100)) }
            } else {
                if chance(20) { p.topicAlias = UInt16(int(1...10)) }
                if chance(20) { p.subscriptionIdentifiers = (0..<int(1...2)).map { _ in int(1...268_435_455) } }
            }
        case 8:
            if chance(30) { p.subscriptionIdentifiers = [int(1...268_435_455)] }
        case 4, 5, 6, 7, 9, 11:
            if chance(50) { p.reasonString = string() }
        case 14:
            if chance(30) { p.sessionExpiryInterval = UInt32(int(0...100)) }
            if chance(30) { p.reasonString = string() }
            if chance(20) { p.serverReference = string() }
        case 15:
            p.authenticationMethod = string()
            if chance(50) { p.authenticationData = bytes(maxLength: 8) }
            if chance(30) { p.reasonString = string() }
        default:
            break
        }
        return p
    }

    mutating func subscription(_ version: ProtocolVersion) -> SubscriptionRequest {
        let filter = string() + "x"
        guard version == .v5 else { return SubscriptionRequest(filter: filter, qos: qos()) }
        return SubscriptionRequest(
            filter: filter,
            qos: qos(),
            noLocal: chance(50),
            retainAsPublished: chance(50),
            retainHandling: RetainHandling(rawValue: UInt8(int(0...2))) ?? .sendOnSubscribe
        )
    }

    /// A valid packet of `type` (1...15; 15 only for v5) that decodes back to itself.
    mutating func packet(type: Int, version: ProtocolVersion) -> Packet {
        let v5 = version == .v5
        switch type {
        case 1:
            var will: Will?
            if chance(40) {
                will = Will(
                    topic: string(),
                    payload: bytes(maxLength: 16),
                    qos: qos(),
                    retain: chance(50),
                    properties: properties(forType: 16, version: version)
                )
            }
            let username: String? = chance(50) ? string() : nil
            let password: ByteBuffer? = (username != nil || v5) && chance(50) ? bytes(maxLength: 8) : nil
            return .connect(
                Connect(
                    version: version,
                    cleanStart: chance(50),
                    keepAliveSeconds: UInt16(int(0...65_535)),
                    clientID: string(),
                    will: will,
                    username: username,
                    password: password,
                    properties: properties(forType: 1, version: version)
                )
            )
        case 2:
            let codes: [ReasonCode] = [
                .success, .unsupportedProtocolVersion, .clientIdentifierNotValid, .serverUnavailable,
                .badUserNameOrPassword, .notAuthorized,
            ]
            return .connack(
                ConnAck(
                    sessionPresent: chance(50),
                    reasonCode: v5 ? reason() : codes[int(0...5)],
                    properties: properties(forType: 2, version: version)
                )
            )
        case 3:
            let qos = qos()
            return .publish(
                Publish(
                    topic: string(maxLength: 20),
                    payload: bytes(maxLength: chance(5) ? 300 : 40),
                    qos: qos,
                    retain: chance(30),
                    dup: qos != .atMostOnce && chance(20),
                    packetID: qos == .atMostOnce ? nil : packetID(),
                    properties: properties(forType: 3, version: version)
                )
            )
        case 4, 5, 6, 7:
            let ack = PublishAck(
                packetID: packetID(),
                reasonCode: v5 && chance(50) ? reason() : .success,
                properties: properties(forType: type, version: version)
            )
            switch type {
            case 4: return .puback(ack)
            case 5: return .pubrec(ack)
            case 6: return .pubrel(ack)
            default: return .pubcomp(ack)
            }
        case 8:
            return .subscribe(
                Subscribe(
                    packetID: packetID(),
                    subscriptions: (0..<int(1...4)).map { _ in subscription(version) },
                    properties: properties(forType: 8, version: version)
                )
            )
        case 9:
            let v311Codes: [ReasonCode] = [.grantedQoS0, .grantedQoS1, .grantedQoS2, .unspecifiedError]
            return .suback(
                SubAck(
                    packetID: packetID(),
                    reasonCodes: (0..<int(1...4)).map { _ in v5 ? reason() : v311Codes[int(0...3)] },
                    properties: properties(forType: 9, version: version)
                )
            )
        case 10:
            return .unsubscribe(
                Unsubscribe(
                    packetID: packetID(),
                    filters: (0..<int(1...4)).map { _ in string() + "y" },
                    properties: properties(forType: 10, version: version)
                )
            )
        case 11:
            return .unsuback(
                UnsubAck(
                    packetID: packetID(),
                    reasonCodes: v5 ? (0..<int(1...4)).map { _ in reason() } : [],
                    properties: properties(forType: 11, version: version)
                )
            )
        case 12: return .pingreq
        case 13: return .pingresp
        case 14:
            return .disconnect(
                Disconnect(
                    reasonCode: v5 ? reason() : .normalDisconnection,
                    properties: properties(forType: 14, version: version)
                )
            )
        default:
            return .auth(Auth(reasonCode: reason(), properties: properties(forType: 15, version: version)))
        }
    }
}
