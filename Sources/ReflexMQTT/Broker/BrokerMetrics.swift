import Metrics

/// swift-metrics counters of the broker, created once. Labels are bounded (reasons, QoS).
struct BrokerMetrics: Sendable {
    private let rejected: [String: Counter]
    private let rejectedOther: Counter
    let connectionsAccepted = Counter(label: "reflex_mqtt_connections_total")
    let connectionsRefused = Counter(label: "reflex_mqtt_connections_refused_total")
    let droppedQoS0 = Counter(label: "reflex_mqtt_messages_dropped_total", dimensions: [("qos", "0")])
    let droppedReliable = Counter(label: "reflex_mqtt_messages_dropped_total", dimensions: [("qos", "1+")])
    let slowConsumerDisconnects = Counter(label: "reflex_mqtt_slow_consumer_disconnects_total")
    let keepAliveTimeouts = Counter(label: "reflex_mqtt_keepalive_timeouts_total")

    static let rejectionReasons = [
        "remaining_length", "too_large", "unknown_type", "reserved_flags", "truncated", "trailing_bytes",
        "invalid_utf8", "invalid_property", "invalid_value", "protocol_name", "protocol_version",
        "protocol_violation", "topic_invalid", "topic_alias_invalid", "receive_maximum", "not_authorized",
        "payload_format", "second_connect", "unexpected_packet", "auth_unsupported", "session_owner",
        "retained_quota",
    ]

    init() {
        var counters: [String: Counter] = [:]
        for reason in Self.rejectionReasons {
            counters[reason] = Counter(label: "reflex_mqtt_packets_rejected_total", dimensions: [("reason", reason)])
        }
        rejected = counters
        rejectedOther = Counter(label: "reflex_mqtt_packets_rejected_total", dimensions: [("reason", "other")])
    }

    /// Counts one rejected packet or publish under a bounded reason label.
    func countRejected(_ reason: String) {
        (rejected[reason] ?? rejectedOther).increment()
    }
}
