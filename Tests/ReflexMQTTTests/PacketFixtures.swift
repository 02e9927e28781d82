import NIOCore
import ReflexMQTT

/// One packet to encode and decode under one protocol version.
struct PacketFixture: Sendable, CustomStringConvertible {
    let name: String
    let packet: Packet
    let version: ProtocolVersion

    var description: String { "\(name) (\(version))" }
}

/// Helpers shared by the codec tests.
enum CodecTestSupport {
    static let limit = 1 << 20

    static func bytes(_ packet: Packet, _ version: ProtocolVersion) -> ByteBuffer {
        var buffer = ByteBuffer()
        PacketEncoder.encode(packet, version: version, into: &buffer)
        return buffer
    }

    /// A decoder in the state a connection is in when `packet` arrives: nothing decoded yet for
    /// CONNECT, the version known for everything else.
    static func decoder(for packet: Packet, _ version: ProtocolVersion) -> PacketDecoder {
        if case .connect = packet { return PacketDecoder(maximumPacketSize: limit) }
        return PacketDecoder(maximumPacketSize: limit, version: version)
    }

    /// Decodes every packet in `buffer`, requiring each call to consume something.
    static func decodeAll(
        _ buffer: inout ByteBuffer,
        decoder: inout PacketDecoder
    ) throws(PacketDecodingError) -> [Packet] {
        var packets: [Packet] = []
        while let packet = try decoder.decode(buffer: &buffer) { packets.append(packet) }
        return packets
    }
}

extension ByteBuffer {
    init(hex: String) {
        let digits = hex.filter { !$0.isWhitespace }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            bytes.append(UInt8(digits[index..<next], radix: 16) ?? 0)
            index = next
        }
        self.init(bytes: bytes)
    }
}

/// Every packet type, both versions: v5 with many properties, v3.1.1 with what it can carry.
enum PacketFixtures {
    static func user(_ name: String, _ value: String) -> UserProperty { UserProperty(name: name, value: value) }

    static var richConnectProperties: Properties {
        var p = Properties()
        p.sessionExpiryInterval = 3600
        p.receiveMaximum = 20
        p.maximumPacketSize = 65_536
        p.topicAliasMaximum = 10
        p.requestResponseInformation = 1
        p.requestProblemInformation = 0
        p.authenticationMethod = "SCRAM-SHA-256"
        p.authenticationData = ByteBuffer(bytes: [1, 2, 3])
        p.userProperties = [user("site", "plant-3"), user("site", "hall-ä")]
        return p
    }

    static var richWillProperties: Properties {
        var p = Properties()
        p.willDelayInterval = 30
        p.payloadFormatIndicator = 1
        p.messageExpiryInterval = 600
        p.contentType = "application/json"
        p.responseTopic = "reply/here"
        p.correlationData = ByteBuffer(bytes: [0xDE, 0xAD])
        p.userProperties = [user("why", "power loss")]
        return p
    }

    static var richConnAckProperties: Properties {
        var p = Properties()
        p.sessionExpiryInterval = 0
        p.receiveMaximum = 100
        p.maximumQoS = 1
        p.retainAvailable = 1
        p.maximumPacketSize = 1_048_576
        p.assignedClientIdentifier = "auto-42"
        p.topicAliasMaximum = 16
        p.reasonString = "welcome"
        p.userProperties = [user("node", "reflex-1")]
        p.wildcardSubscriptionAvailable = 1
        p.subscriptionIdentifiersAvailable = 1
        p.sharedSubscriptionAvailable = 0
        p.serverKeepAlive = 30
        p.responseInformation = "resp/"
        p.serverReference = "other:1883"
        p.authenticationMethod = "SCRAM-SHA-256"
        p.authenticationData = ByteBuffer(bytes: [9, 9])
        return p
    }

    static var richPublishProperties: Properties {
        var p = Properties()
        p.payloadFormatIndicator = 1
        p.messageExpiryInterval = 120
        p.topicAlias = 3
        p.responseTopic = "reply/pump-7"
        p.correlationData = ByteBuffer(bytes: [0, 1, 2, 3])
        p.userProperties = [user("unit", "°C"), user("unit", "K")]
        p.subscriptionIdentifiers = [1, 268_435_455]
        p.contentType = "text/plain"
        return p
    }

    static var reasonProperties: Properties {
        var p = Properties()
        p.reasonString = "because"
        p.userProperties = [user("k", "v")]
        return p
    }

    static let v5: [PacketFixture] = {
        var subscribeProperties = Properties()
        subscribeProperties.subscriptionIdentifiers = [42]
        subscribeProperties.userProperties = [user("a", "b")]
        var disconnectProperties = Properties()
        disconnectProperties.sessionExpiryInterval = 0
        disconnectProperties.reasonString = "bye"
        disconnectProperties.serverReference = "other:1883"
        var authProperties = Properties()
        authProperties.authenticationMethod = "SCRAM-SHA-256"
        authProperties.authenticationData = ByteBuffer(bytes: [7, 7, 7])
        authProperties.reasonString = "more"
        var aliasOnly = Properties()
        aliasOnly.topicAlias = 7
        let fixtures: [(String, Packet)] = [
            (
                "CONNECT with will, credentials and properties",
                .connect(
                    Connect(
                        version: .v5,
                        cleanStart: true,
                        keepAliveSeconds: 60,
                        clientID: "pump-7",
                        will: Will(
                            topic: "state/pump-7",
                            payload: ByteBuffer(string: "offline"),
                            qos: .atLeastOnce,
                            retain: true,
                            properties: richWillProperties
                        ),
                        username: "operator",
                        password: ByteBuffer(bytes: [0, 255, 1]),
                        properties: richConnectProperties
                    )
                )
            ),
            (
                "CONNECT with password but no user name",
                .connect(
                    Connect(
                        version: .v5,
                        cleanStart: false,
                        keepAliveSeconds: 0,
                        clientID: "",
                        password: ByteBuffer(string: "token")
                    )
                )
            ),
            (
                "CONNACK with properties",
                .connack(ConnAck(sessionPresent: true, reasonCode: .success, properties: richConnAckProperties))
            ),
            ("CONNACK refused", .connack(ConnAck(sessionPresent: false, reasonCode: .notAuthorized))),
            ("PUBLISH QoS 0", .publish(Publish(topic: "sensors/t1", payload: ByteBuffer(string: "21.5")))),
            (
                "PUBLISH QoS 1 with properties",
                .publish(
                    Publish(
                        topic: "sensors/温度",
                        payload: ByteBuffer(bytes: Array(0..<200)),
                        qos: .atLeastOnce,
                        packetID: 1,
                        properties: richPublishProperties
                    )
                )
            ),
            (
                "PUBLISH QoS 2 duplicate retained",
                .publish(
                    Publish(
                        topic: "a",
                        payload: ByteBuffer(),
                        qos: .exactlyOnce,
                        retain: true,
                        dup: true,
                        packetID: 65_535
                    )
                )
            ),
            (
                "PUBLISH with empty topic and alias",
                .publish(Publish(topic: "", payload: ByteBuffer(string: "x"), properties: aliasOnly))
            ),
            ("PUBACK short form", .puback(PublishAck(packetID: 7))),
            ("PUBACK with reason only", .puback(PublishAck(packetID: 8, reasonCode: .noMatchingSubscribers))),
            (
                "PUBREC with properties",
                .pubrec(PublishAck(packetID: 9, reasonCode: .quotaExceeded, properties: reasonProperties))
            ),
            (
                "PUBREL with properties",
                .pubrel(PublishAck(packetID: 10, reasonCode: .packetIdentifierNotFound, properties: reasonProperties))
            ),
            ("PUBCOMP short form", .pubcomp(PublishAck(packetID: 11))),
            (
                "SUBSCRIBE with options",
                .subscribe(
                    Subscribe(
                        packetID: 12,
                        subscriptions: [
                            SubscriptionRequest(filter: "sensors/#", qos: .atLeastOnce),
                            SubscriptionRequest(
                                filter: "cmd/+/set",
                                qos: .exactlyOnce,
                                noLocal: true,
                                retainAsPublished: true,
                                retainHandling: .doNotSend
                            ),
                            SubscriptionRequest(filter: "$share/g/x", qos: .atMostOnce, retainHandling: .sendIfNew),
                        ],
                        properties: subscribeProperties
                    )
                )
            ),
            (
                "SUBACK",
                .suback(
                    SubAck(
                        packetID: 12,
                        reasonCodes: [.grantedQoS1, .grantedQoS2, .notAuthorized],
                        properties: reasonProperties
                    )
                )
            ),
            (
                "UNSUBSCRIBE",
                .unsubscribe(Unsubscribe(packetID: 13, filters: ["a/b", "c/#"], properties: reasonPropertiesUserOnly))
            ),
            (
                "UNSUBACK",
                .unsuback(
                    UnsubAck(
                        packetID: 13,
                        reasonCodes: [.success, .noSubscriptionExisted],
                        properties: reasonProperties
                    )
                )
            ),
            ("PINGREQ", .pingreq),
            ("PINGRESP", .pingresp),
            ("DISCONNECT short form", .disconnect(Disconnect())),
            ("DISCONNECT with reason only", .disconnect(Disconnect(reasonCode: .disconnectWithWillMessage))),
            (
                "DISCONNECT with properties",
                .disconnect(Disconnect(reasonCode: .serverMoved, properties: disconnectProperties))
            ),
            ("AUTH short form", .auth(Auth())),
            ("AUTH continue", .auth(Auth(reasonCode: .continueAuthentication, properties: authProperties))),
        ]
        return fixtures.map { PacketFixture(name: $0.0, packet: $0.1, version: .v5) }
    }()

    static var reasonPropertiesUserOnly: Properties {
        var p = Properties()
        p.userProperties = [user("k", "v")]
        return p
    }

    static let v311: [PacketFixture] = {
        let fixtures: [(String, Packet)] = [
            (
                "CONNECT with will and credentials",
                .connect(
                    Connect(
                        version: .v311,
                        cleanStart: true,
                        keepAliveSeconds: 60,
                        clientID: "pump-7",
                        will: Will(
                            topic: "state/pump-7",
                            payload: ByteBuffer(string: "offline"),
                            qos: .exactlyOnce,
                            retain: false
                        ),
                        username: "operator",
                        password: ByteBuffer(string: "secret")
                    )
                )
            ),
            (
                "CONNECT minimal",
                .connect(Connect(version: .v311, cleanStart: false, keepAliveSeconds: 10, clientID: "c"))
            ),
            ("CONNACK accepted", .connack(ConnAck(sessionPresent: true, reasonCode: .success))),
            ("CONNACK bad credentials", .connack(ConnAck(sessionPresent: false, reasonCode: .badUserNameOrPassword))),
            ("PUBLISH QoS 0", .publish(Publish(topic: "sensors/t1", payload: ByteBuffer(string: "21.5")))),
            (
                "PUBLISH QoS 1 retained",
                .publish(
                    Publish(
                        topic: "sensors/温度",
                        payload: ByteBuffer(bytes: Array(0..<200)),
                        qos: .atLeastOnce,
                        retain: true,
                        packetID: 1
                    )
                )
            ),
            (
                "PUBLISH QoS 2 duplicate",
                .publish(Publish(topic: "a", payload: ByteBuffer(), qos: .exactlyOnce, dup: true, packetID: 2))
            ),
            ("PUBACK", .puback(PublishAck(packetID: 7))),
            ("PUBREC", .pubrec(PublishAck(packetID: 8))),
            ("PUBREL", .pubrel(PublishAck(packetID: 9))),
            ("PUBCOMP", .pubcomp(PublishAck(packetID: 10))),
            (
                "SUBSCRIBE",
                .subscribe(
                    Subscribe(
                        packetID: 11,
                        subscriptions: [
                            SubscriptionRequest(filter: "sensors/#", qos: .atLeastOnce),
                            SubscriptionRequest(filter: "cmd/+/set", qos: .exactlyOnce),
                        ]
                    )
                )
            ),
            ("SUBACK", .suback(SubAck(packetID: 11, reasonCodes: [.grantedQoS1, .grantedQoS0, .unspecifiedError]))),
            ("UNSUBSCRIBE", .unsubscribe(Unsubscribe(packetID: 12, filters: ["a/b", "c/#"]))),
            ("UNSUBACK", .unsuback(UnsubAck(packetID: 12, reasonCodes: []))),
            ("PINGREQ", .pingreq),
            ("PINGRESP", .pingresp),
            ("DISCONNECT", .disconnect(Disconnect())),
        ]
        return fixtures.map { PacketFixture(name: $0.0, packet: $0.1, version: .v311) }
    }()

    static let all: [PacketFixture] = v5 + v311
}
