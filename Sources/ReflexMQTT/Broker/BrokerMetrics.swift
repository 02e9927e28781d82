import Metrics
import Synchronization

/// swift-metrics counters of the broker, created once per broker from the factory it was given
/// (``MQTTBroker/init(configuration:authenticator:authorizer:sessionStore:interceptor:metricsFactory:logger:)``),
/// so two brokers in one process can report to two registries. Labels are bounded: packet types,
/// rejection reasons and CONNACK reasons come from fixed lists, never a client id or a topic.
///
/// - Complexity: O(1) per packet: one relaxed atomic increment, found by array index.
struct BrokerMetrics: Sendable {
    private let rejected: [String: Counter]
    private let rejectedOther: Counter
    private let refused: [UInt8: Counter]
    private let refusedOther: Counter
    private let received: [Counter]
    private let sent: [Counter]
    let connectionsAccepted: Counter
    let droppedQoS0: Counter
    let droppedReliable: Counter
    let slowConsumerDisconnects: Counter
    let keepAliveTimeouts: Counter
    /// Clients connected now, shared with ``MQTTBroker/connectedClientCount``.
    let connected: ConnectedClientCount

    static let rejectionReasons = [
        "remaining_length", "too_large", "unknown_type", "reserved_flags", "truncated", "trailing_bytes",
        "invalid_utf8", "invalid_property", "invalid_value", "protocol_name", "protocol_version",
        "protocol_violation", "topic_invalid", "topic_alias_invalid", "receive_maximum", "not_authorized",
        "payload_format", "second_connect", "unexpected_packet", "auth_unsupported", "session_owner",
        "retained_quota",
    ]

    /// The reasons a CONNECT is refused with, as `reason` labels of `reflex_mqtt_connections_refused_total`.
    static let refusalReasons: [(ReasonCode, String)] = [
        (.clientIdentifierNotValid, "client_id_invalid"),
        (.badAuthenticationMethod, "bad_authentication_method"),
        (.topicNameInvalid, "will_topic_invalid"),
        (.payloadFormatInvalid, "will_payload_invalid"),
        (.serverBusy, "server_busy"),
        (.badUserNameOrPassword, "bad_credentials"),
        (.notAuthorized, "not_authorized"),
        (.banned, "banned"),
        (.unsupportedProtocolVersion, "unsupported_protocol_version"),
        (.unspecifiedError, "unspecified"),
    ]

    /// Packet types, as `type` labels, in the order of ``packetIndex(_:)``.
    static let packetTypes = [
        "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe", "suback",
        "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth",
    ]

    init(factory: any MetricsFactory = MetricsSystem.factory, connected: ConnectedClientCount = ConnectedClientCount())
    {
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: dimensions, factory: factory)
        }
        var counters: [String: Counter] = [:]
        for reason in Self.rejectionReasons {
            counters[reason] = counter("reflex_mqtt_packets_rejected_total", [("reason", reason)])
        }
        rejected = counters
        rejectedOther = counter("reflex_mqtt_packets_rejected_total", [("reason", "other")])
        var refusals: [UInt8: Counter] = [:]
        for (code, reason) in Self.refusalReasons {
            refusals[code.rawValue] = counter("reflex_mqtt_connections_refused_total", [("reason", reason)])
        }
        refused = refusals
        refusedOther = counter("reflex_mqtt_connections_refused_total", [("reason", "other")])
        received = Self.packetTypes.map { counter("reflex_mqtt_packets_received_total", [("type", $0)]) }
        sent = Self.packetTypes.map { counter("reflex_mqtt_packets_sent_total", [("type", $0)]) }
        connectionsAccepted = counter("reflex_mqtt_connections_total")
        droppedQoS0 = counter("reflex_mqtt_messages_dropped_total", [("qos", "0")])
        droppedReliable = counter("reflex_mqtt_messages_dropped_total", [("qos", "1+")])
        slowConsumerDisconnects = counter("reflex_mqtt_slow_consumer_disconnects_total")
        keepAliveTimeouts = counter("reflex_mqtt_keepalive_timeouts_total")
        self.connected = connected
    }

    /// Counts one rejected packet or publish under a bounded reason label.
    func countRejected(_ reason: String) {
        (rejected[reason] ?? rejectedOther).increment()
    }

    /// Counts one refused CONNECT under the label of its CONNACK reason.
    func countRefusedConnection(_ reason: ReasonCode) {
        (refused[reason.rawValue] ?? refusedOther).increment()
    }

    /// Counts one decoded inbound packet by type.
    func countReceived(_ packet: Packet) {
        received[Self.packetIndex(packet)].increment()
    }

    /// Counts one encoded outbound packet by type.
    func countSent(_ packet: Packet) {
        sent[Self.packetIndex(packet)].increment()
    }

    /// The position of a packet's type in ``packetTypes``.
    static func packetIndex(_ packet: Packet) -> Int {
        switch packet {
        case .connect: 0
        case .connack: 1
        case .publish: 2
        case .puback: 3
        case .pubrec: 4
        case .pubrel: 5
        case .pubcomp: 6
        case .subscribe: 7
        case .suback: 8
        case .unsubscribe: 9
        case .unsuback: 10
        case .pingreq: 11
        case .pingresp: 12
        case .disconnect: 13
        case .auth: 14
        }
    }
}

/// How many MQTT clients are connected now: written on the broker's loop, read from anywhere
/// (`/metrics`, `/health`).
final class ConnectedClientCount: Sendable {
    private let value = Atomic<Int>(0)

    /// The count now.
    var current: Int { value.load(ordering: .relaxed) }

    /// Sets the count (the broker's loop-confined `connectedClients` after a change).
    func set(_ count: Int) { value.store(count, ordering: .relaxed) }
}
