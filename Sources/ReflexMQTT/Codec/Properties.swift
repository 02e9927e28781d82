public import NIOCore

/// A user property (MQTT 5.0 §3.3.2.3.7): an ordered name/value pair that may repeat.
public struct UserProperty: Sendable, Hashable, Codable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The MQTT 5.0 properties of a packet (MQTT 5.0 §2.2.2). Every field is optional; absent means
/// "not sent". The decoder rejects a property that is not allowed in the packet it appears in, and
/// a property (other than user properties and subscription identifiers) that appears twice.
/// Under MQTT 3.1.1 properties are neither read nor written.
public struct Properties: Sendable, Hashable {
    public var payloadFormatIndicator: UInt8?  // 0x01
    public var messageExpiryInterval: UInt32?  // 0x02
    public var contentType: String?  // 0x03
    public var responseTopic: String?  // 0x08
    public var correlationData: ByteBuffer?  // 0x09
    public var subscriptionIdentifiers: [Int] = []  // 0x0B (variable byte integer; repeats in PUBLISH)
    public var sessionExpiryInterval: UInt32?  // 0x11
    public var assignedClientIdentifier: String?  // 0x12
    public var serverKeepAlive: UInt16?  // 0x13
    public var authenticationMethod: String?  // 0x15
    public var authenticationData: ByteBuffer?  // 0x16
    public var requestProblemInformation: UInt8?  // 0x17
    public var willDelayInterval: UInt32?  // 0x18
    public var requestResponseInformation: UInt8?  // 0x19
    public var responseInformation: String?  // 0x1A
    public var serverReference: String?  // 0x1C
    public var reasonString: String?  // 0x1F
    public var receiveMaximum: UInt16?  // 0x21
    public var topicAliasMaximum: UInt16?  // 0x22
    public var topicAlias: UInt16?  // 0x23
    public var maximumQoS: UInt8?  // 0x24
    public var retainAvailable: UInt8?  // 0x25
    public var userProperties: [UserProperty] = []  // 0x26
    public var maximumPacketSize: UInt32?  // 0x27
    public var wildcardSubscriptionAvailable: UInt8?  // 0x28
    public var subscriptionIdentifiersAvailable: UInt8?  // 0x29
    public var sharedSubscriptionAvailable: UInt8?  // 0x2A

    public init() {}

    /// Whether no property is set.
    public var isEmpty: Bool { self == Properties() }
}
