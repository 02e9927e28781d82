public import NIOCore

/// One MQTT control packet, decoded or to be encoded. The same model serves MQTT 3.1.1 and 5.0;
/// fields that exist only in 5.0 (reason codes, properties) are ignored when encoding for 3.1.1.
public enum Packet: Sendable, Equatable {
    case connect(Connect)
    case connack(ConnAck)
    case publish(Publish)
    case puback(PublishAck)
    case pubrec(PublishAck)
    case pubrel(PublishAck)
    case pubcomp(PublishAck)
    case subscribe(Subscribe)
    case suback(SubAck)
    case unsubscribe(Unsubscribe)
    case unsuback(UnsubAck)
    case pingreq
    case pingresp
    case disconnect(Disconnect)
    case auth(Auth)

    /// The MQTT control packet type number (MQTT 5.0 §2.1.2).
    public var typeNumber: UInt8 {
        switch self {
        case .connect: 1
        case .connack: 2
        case .publish: 3
        case .puback: 4
        case .pubrec: 5
        case .pubrel: 6
        case .pubcomp: 7
        case .subscribe: 8
        case .suback: 9
        case .unsubscribe: 10
        case .unsuback: 11
        case .pingreq: 12
        case .pingresp: 13
        case .disconnect: 14
        case .auth: 15
        }
    }

    /// A short lowercase name for logs and metric labels ("publish", "suback"...).
    public var name: String { Packet.name(ofType: typeNumber) }

    /// The name of a packet type number, "reserved" for 0 and out-of-range values.
    public static func name(ofType type: UInt8) -> String {
        switch type {
        case 1: "connect"
        case 2: "connack"
        case 3: "publish"
        case 4: "puback"
        case 5: "pubrec"
        case 6: "pubrel"
        case 7: "pubcomp"
        case 8: "subscribe"
        case 9: "suback"
        case 10: "unsubscribe"
        case 11: "unsuback"
        case 12: "pingreq"
        case 13: "pingresp"
        case 14: "disconnect"
        case 15: "auth"
        default: "reserved"
        }
    }
}

/// The will message carried in CONNECT.
public struct Will: Sendable, Equatable {
    public var topic: String
    public var payload: ByteBuffer
    public var qos: QoS
    public var retain: Bool
    /// Will properties (v5): will delay interval, message expiry, content type, response topic,
    /// correlation data, payload format indicator, user properties.
    public var properties: Properties

    public init(topic: String, payload: ByteBuffer, qos: QoS, retain: Bool, properties: Properties = Properties()) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
    }
}

/// CONNECT (MQTT 5.0 §3.1, MQTT 3.1.1 §3.1).
public struct Connect: Sendable, Equatable {
    public var version: ProtocolVersion
    /// MQTT 3.1.1 "clean session"; MQTT 5.0 "clean start".
    public var cleanStart: Bool
    public var keepAliveSeconds: UInt16
    public var clientID: String
    public var will: Will?
    public var username: String?
    public var password: ByteBuffer?
    public var properties: Properties

    public init(
        version: ProtocolVersion,
        cleanStart: Bool,
        keepAliveSeconds: UInt16,
        clientID: String,
        will: Will? = nil,
        username: String? = nil,
        password: ByteBuffer? = nil,
        properties: Properties = Properties()
    ) {
        self.version = version
        self.cleanStart = cleanStart
        self.keepAliveSeconds = keepAliveSeconds
        self.clientID = clientID
        self.will = will
        self.username = username
        self.password = password
        self.properties = properties
    }
}

/// CONNACK. For MQTT 3.1.1 the reason code is mapped with ``ReasonCode/v311ConnectReturnCode``.
public struct ConnAck: Sendable, Equatable {
    public var sessionPresent: Bool
    public var reasonCode: ReasonCode
    public var properties: Properties

    public init(sessionPresent: Bool, reasonCode: ReasonCode, properties: Properties = Properties()) {
        self.sessionPresent = sessionPresent
        self.reasonCode = reasonCode
        self.properties = properties
    }
}

/// PUBLISH (MQTT 5.0 §3.3). `packetID` is set exactly when `qos` is above 0.
public struct Publish: Sendable, Equatable {
    /// The topic name; may be empty in MQTT 5.0 when a topic alias is given.
    public var topic: String
    public var payload: ByteBuffer
    public var qos: QoS
    public var retain: Bool
    public var dup: Bool
    public var packetID: UInt16?
    public var properties: Properties

    public init(
        topic: String,
        payload: ByteBuffer,
        qos: QoS = .atMostOnce,
        retain: Bool = false,
        dup: Bool = false,
        packetID: UInt16? = nil,
        properties: Properties = Properties()
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.packetID = packetID
        self.properties = properties
    }
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP: a packet identifier with a v5 reason code and properties.
/// The v5 encoder omits the reason code when it is success and there are no properties.
public struct PublishAck: Sendable, Equatable {
    public var packetID: UInt16
    public var reasonCode: ReasonCode
    public var properties: Properties

    public init(packetID: UInt16, reasonCode: ReasonCode = .success, properties: Properties = Properties()) {
        self.packetID = packetID
        self.reasonCode = reasonCode
        self.properties = properties
    }
}

/// What a subscriber asks for with a v5 retain handling option (MQTT 5.0 §3.8.3.1).
public enum RetainHandling: UInt8, Sendable, Hashable, Codable {
    /// Send retained messages at the time of the subscribe.
    case sendOnSubscribe = 0
    /// Send retained messages only if the subscription did not exist before.
    case sendIfNew = 1
    /// Do not send retained messages.
    case doNotSend = 2
}

/// One topic filter of a SUBSCRIBE with its options. MQTT 3.1.1 carries only the QoS.
public struct SubscriptionRequest: Sendable, Hashable, Codable {
    public var filter: String
    public var qos: QoS
    public var noLocal: Bool
    public var retainAsPublished: Bool
    public var retainHandling: RetainHandling

    public init(
        filter: String,
        qos: QoS,
        noLocal: Bool = false,
        retainAsPublished: Bool = false,
        retainHandling: RetainHandling = .sendOnSubscribe
    ) {
        self.filter = filter
        self.qos = qos
        self.noLocal = noLocal
        self.retainAsPublished = retainAsPublished
        self.retainHandling = retainHandling
    }
}

/// SUBSCRIBE (MQTT 5.0 §3.8). The v5 subscription identifier travels in `properties`.
public struct Subscribe: Sendable, Equatable {
    public var packetID: UInt16
    public var subscriptions: [SubscriptionRequest]
    public var properties: Properties

    public init(packetID: UInt16, subscriptions: [SubscriptionRequest], properties: Properties = Properties()) {
        self.packetID = packetID
        self.subscriptions = subscriptions
        self.properties = properties
    }
}

/// SUBACK: one reason code per requested filter, in order.
public struct SubAck: Sendable, Equatable {
    public var packetID: UInt16
    public var reasonCodes: [ReasonCode]
    public var properties: Properties

    public init(packetID: UInt16, reasonCodes: [ReasonCode], properties: Properties = Properties()) {
        self.packetID = packetID
        self.reasonCodes = reasonCodes
        self.properties = properties
    }
}

/// UNSUBSCRIBE (MQTT 5.0 §3.10).
public struct Unsubscribe: Sendable, Equatable {
    public var packetID: UInt16
    public var filters: [String]
    public var properties: Properties

    public init(packetID: UInt16, filters: [String], properties: Properties = Properties()) {
        self.packetID = packetID
        self.filters = filters
        self.properties = properties
    }
}

/// UNSUBACK. MQTT 3.1.1 has no reason codes; the encoder writes only the packet identifier.
public struct UnsubAck: Sendable, Equatable {
    public var packetID: UInt16
    public var reasonCodes: [ReasonCode]
    public var properties: Properties

    public init(packetID: UInt16, reasonCodes: [ReasonCode], properties: Properties = Properties()) {
        self.packetID = packetID
        self.reasonCodes = reasonCodes
        self.properties = properties
    }
}

/// DISCONNECT. MQTT 3.1.1 has neither reason code nor properties.
public struct Disconnect: Sendable, Equatable {
    public var reasonCode: ReasonCode
    public var properties: Properties

    public init(reasonCode: ReasonCode = .normalDisconnection, properties: Properties = Properties()) {
        self.reasonCode = reasonCode
        self.properties = properties
    }
}

/// AUTH (MQTT 5.0 only, §3.15).
public struct Auth: Sendable, Equatable {
    public var reasonCode: ReasonCode
    public var properties: Properties

    public init(reasonCode: ReasonCode = .success, properties: Properties = Properties()) {
        self.reasonCode = reasonCode
        self.properties = properties
    }
}
