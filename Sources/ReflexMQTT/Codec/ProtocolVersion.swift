/// The MQTT protocol level a client announced in CONNECT.
///
/// Reflex speaks MQTT 3.1.1 (level 4) and MQTT 5.0 (level 5). MQTT 3.1 (level 3, "MQIsdp") is
/// refused with CONNACK return code 0x01 (unacceptable protocol version).
public enum ProtocolVersion: UInt8, Sendable, Hashable, Codable, CustomStringConvertible {
    case v311 = 4
    case v5 = 5

    public var description: String {
        switch self {
        case .v311: "3.1.1"
        case .v5: "5.0"
        }
    }
}

/// Quality of service of a PUBLISH or of a subscription.
public enum QoS: UInt8, Sendable, Hashable, Codable, Comparable {
    case atMostOnce = 0
    case atLeastOnce = 1
    case exactlyOnce = 2

    public static func < (lhs: QoS, rhs: QoS) -> Bool { lhs.rawValue < rhs.rawValue }
}
