/// One metric family that `/metrics` exposes: its name, type, help text and the only label
/// values it may carry.
///
/// The catalog is the contract: `docs/metrics.md` lists the same families, the Prometheus
/// factory takes each family's help text from here (Prometheus' `promtool check metrics` refuses
/// a family without one), and a unit test checks that every series emitted belongs to a family
/// here and carries only the listed label values.
public struct MetricFamily: Sendable, Hashable {
    /// The Prometheus type of a family.
    public enum Kind: String, Sendable, Hashable {
        case counter, gauge, histogram
    }

    /// The family's name, `reflex_<part>_<what>_<unit>` (counters end in `_total`).
    public let name: String
    /// Counter, gauge or histogram.
    public let kind: Kind
    /// One sentence for `# HELP`.
    public let help: String
    /// Each label's allowed values (an empty dictionary: no labels).
    public let labels: [String: [String]]

    init(_ name: String, _ kind: Kind, _ help: String, labels: [String: [String]] = [:]) {
        self.name = name
        self.kind = kind
        self.help = help
        self.labels = labels
    }
}

/// Every metric family of a Reflex node (see ``MetricFamily``).
public enum MetricCatalog {
    /// Refusal reasons of samples and messages on the ingest path.
    public static let refusalReasons = ["invalid", "series_limit", "overloaded", "store_failure", "closed"]
    /// `AuditDecision` raw values: what the automation engine decided.
    public static let decisionOutcomes = [
        "fired", "would_fire", "suppressed_cooldown", "suppressed_interlock", "suppressed_override", "suppressed_cap",
        "suppressed_autonomy_off", "approval_requested", "approved", "rejected", "command_outcome", "alarm_raised",
        "alarm_cleared", "fail_safe", "operator_action",
    ]
    /// Final command states.
    public static let commandStates = ["rejected", "verified", "failed", "expired", "cancelled", "done"]
    /// The status classes of HTTP responses.
    public static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    /// Every family, by name.
    public static let families: [String: MetricFamily] = Dictionary(
        uniqueKeysWithValues: (mqtt + store + ingest + detection + automation + http + process).map { ($0.name, $0) }
    )

    static let mqtt: [MetricFamily] = [
        .init("reflex_mqtt_connections", .gauge, "MQTT clients connected now."),
        .init("reflex_mqtt_connections_total", .counter, "MQTT connections accepted (CONNACK success) since start."),
        .init(
            "reflex_mqtt_connections_refused_total",
            .counter,
            "MQTT CONNECTs refused, by CONNACK reason.",
            labels: [
                "reason": [
                    "client_id_invalid", "bad_authentication_method", "will_topic_invalid", "will_payload_invalid",
                    "server_busy", "bad_credentials", "not_authorized", "banned", "unsupported_protocol_version",
                    "unspecified", "other",
                ]
            ]
        ),
        .init(
            "reflex_mqtt_packets_received_total",
            .counter,
            "MQTT packets decoded, by packet type.",
            labels: ["type": packetTypes]
        ),
        .init(
            "reflex_mqtt_packets_sent_total",
            .counter,
            "MQTT packets sent, by packet type.",
            labels: ["type": packetTypes]
        ),
        .init(
            "reflex_mqtt_packets_rejected_total",
            .counter,
            "MQTT packets or publishes rejected, by reason (malformed, protocol, authorization, quota).",
            labels: [
                "reason": [
                    "remaining_length", "too_large", "unknown_type", "reserved_flags", "truncated", "trailing_bytes",
                    "invalid_utf8", "invalid_property", "invalid_value", "protocol_name", "protocol_version",
                    "protocol_violation", "topic_invalid", "topic_alias_invalid", "receive_maximum", "not_authorized",
                    "payload_format", "second_connect", "unexpected_packet", "auth_unsupported", "session_owner",
                    "retained_quota", "other",
                ]
            ]
        ),
        .init(
            "reflex_mqtt_messages_dropped_total",
            .counter,
            "Messages dropped from full client queues, by QoS (0, or 1+ for QoS 1 and 2).",
            labels: ["qos": ["0", "1+"]]
        ),
        .init(
            "reflex_mqtt_slow_consumer_disconnects_total",
            .counter,
            "Clients disconnected because their queue of reliable messages was full."
        ),
        .init("reflex_mqtt_keepalive_timeouts_total", .counter, "Clients disconnected by the keep-alive timeout."),
    ]

    static let packetTypes = [
        "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe", "suback",
        "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth",
    ]

    static let store: [MetricFamily] = [
        .init(
            "reflex_store_samples_committed_total",
            .counter,
            "Samples committed by the sample store's group commit."
        ),
        .init("reflex_store_messages_committed_total", .counter, "Telemetry batches (messages) committed."),
        .init("reflex_store_dead_letters_total", .counter, "Dead letters (refused payloads) committed."),
        .init("reflex_store_commits_total", .counter, "Group-commit transactions that succeeded."),
        .init(
            "reflex_store_commit_failures_total",
            .counter,
            "Group-commit transactions that failed (the store backend's errors)."
        ),
        .init("reflex_store_pending_samples", .gauge, "Samples waiting for the next group commit."),
        .init(
            "reflex_store_commit_latency_seconds",
            .histogram,
            "Time from queueing a telemetry batch to its durable commit (what a QoS 1 PUBACK waits for)."
        ),
    ]

    static let ingest: [MetricFamily] = [
        .init("reflex_ingest_messages_total", .counter, "MQTT telemetry messages admitted to the store."),
        .init("reflex_ingest_samples_total", .counter, "Samples of admitted MQTT telemetry messages."),
        .init(
            "reflex_ingest_refused_messages_total",
            .counter,
            "Telemetry messages refused, by reason (MQTT and HTTP writes).",
            labels: ["reason": refusalReasons]
        ),
        .init(
            "reflex_ingest_refused_samples_total",
            .counter,
            "Samples refused, by reason (an invalid payload counts as a message only).",
            labels: ["reason": refusalReasons]
        ),
    ]

    static let detection: [MetricFamily] = [
        .init("reflex_detection_lag_seconds", .gauge, "How far live detection is behind the store's commits."),
        .init("reflex_detection_lag_batches", .gauge, "Committed batches that detection has not scored yet."),
        .init("reflex_detection_series", .gauge, "Series that have a detector."),
        .init("reflex_detection_samples_scored_total", .counter, "Samples that got an anomaly score."),
        .init(
            "reflex_detection_samples_untracked_total",
            .counter,
            "Samples not scored because detection.maxSeries series already have a detector."
        ),
        .init("reflex_detection_anomaly_events_total", .counter, "Anomaly events published."),
        .init("reflex_detection_scores_dropped_total", .counter, "Scores the store refused."),
    ]

    static let automation: [MetricFamily] = [
        .init(
            "reflex_automation_decisions_total",
            .counter,
            "Automation decisions (audit entries), by outcome.",
            labels: ["outcome": decisionOutcomes]
        ),
        .init(
            "reflex_automation_commands_total",
            .counter,
            "Commands that reached a final state, by state.",
            labels: ["state": commandStates]
        ),
        .init("reflex_automation_active_alarms", .gauge, "Alarms open now."),
    ]

    static let http: [MetricFamily] = [
        .init(
            "reflex_http_requests_total",
            .counter,
            "HTTP requests, by route template and status class.",
            labels: ["route": [], "status": statusClasses]
        ),
        .init("reflex_http_connections", .gauge, "HTTP connections open now."),
        .init("reflex_http_connections_total", .counter, "HTTP connections accepted."),
        .init(
            "reflex_http_connections_refused_total",
            .counter,
            "HTTP connections refused (503) because http.maxConnections were open."
        ),
        .init(
            "reflex_http_timeouts_total",
            .counter,
            "HTTP connections closed by a timeout, by phase.",
            labels: ["phase": ["header", "body"]]
        ),
    ]

    static let process: [MetricFamily] = [
        .init("process_resident_memory_bytes", .gauge, "Resident memory size in bytes."),
        .init("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes."),
        .init("process_start_time_seconds", .gauge, "Start time of the process since the Unix epoch in seconds."),
        .init("process_open_fds", .gauge, "Number of open file descriptors."),
    ]
}
