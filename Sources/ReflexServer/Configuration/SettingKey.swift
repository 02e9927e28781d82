import ReflexNode
import ReflexStore

/// One configurable setting: its dotted YAML key, its environment variable and its flag.
enum SettingKey: String, CaseIterable, Sendable {
    case dataDirectory = "dataDirectory"
    case store = "store"
    case logLevel = "log.level"
    case logFormat = "log.format"
    case mqttListen = "mqtt.listen"
    case mqttTLSListen = "mqtt.tlsListen"
    case mqttTLSCertificate = "mqtt.tls.certificate"
    case mqttTLSKey = "mqtt.tls.key"
    case mqttMaxConnections = "mqtt.maxConnections"
    case mqttMaxPacketSize = "mqtt.maxPacketSize"
    case mqttMaxInflight = "mqtt.maxInflight"
    case mqttMaxQueuedMessages = "mqtt.maxQueuedMessages"
    case mqttQueueOverflow = "mqtt.queueOverflow"
    case mqttMaxTopicLength = "mqtt.maxTopicLength"
    case mqttMaxTopicLevels = "mqtt.maxTopicLevels"
    case mqttMaxKeepAlive = "mqtt.maxKeepAlive"
    case mqttV311SessionExpiry = "mqtt.v311SessionExpiry"
    case mqttMaxSessionExpiry = "mqtt.maxSessionExpiry"
    case mqttTopicAliasMaximum = "mqtt.topicAliasMaximum"
    case mqttSysInterval = "mqtt.sysInterval"
    case mqttSessionSaveInterval = "mqtt.sessionSaveInterval"
    case mqttAllowAnonymous = "mqtt.allowAnonymous"
    case mqttRetainedMaxMessagesPerClient = "mqtt.retained.maxMessagesPerClient"
    case mqttRetainedMaxBytesPerClient = "mqtt.retained.maxBytesPerClient"
    case mqttRetainedMaxBytes = "mqtt.retained.maxBytes"
    case httpListen = "http.listen"
    case httpHeaderTimeout = "http.headerTimeout"
    case httpBodyTimeout = "http.bodyTimeout"
    case httpIdleTimeout = "http.idleTimeout"
    case httpMaxConnections = "http.maxConnections"
    case httpMetricsPublic = "http.metricsPublic"
    case automationRulesDirectory = "automation.rulesDirectory"
    case automationWebhookTimeout = "automation.webhookTimeout"
    case automationAckTimeout = "automation.ackTimeout"
    case detectionEnabled = "detection.enabled"
    case detectionCheckpointInterval = "detection.checkpointInterval"
    case detectionCheckInterval = "detection.checkInterval"
    case detectionSensitivity = "detection.defaults.sensitivity"
    case detectionSeasonality = "detection.defaults.seasonality"
    case detectionMaxSeries = "detection.maxSeries"
    case detectionBufferSize = "detection.bufferSize"
    case detectionMaxLag = "detection.maxLag"
    case ingestMaxSeriesPerDevice = "ingest.maxSeriesPerDevice"
    case ingestMaxSeries = "ingest.maxSeries"
    case ingestMaxNewSeriesPerMinute = "ingest.maxNewSeriesPerMinute"
    case ingestMaxNewSeriesPerMinutePerNode = "ingest.maxNewSeriesPerMinutePerNode"

    /// The YAML path, split at the dots.
    var path: [String] { rawValue.split(separator: ".").map(String.init) }

    /// The environment variable that sets it, if any.
    var environmentVariable: String? {
        switch self {
        case .dataDirectory: "REFLEX_DATA_DIR"
        case .store: "REFLEX_STORE"
        case .logLevel: "REFLEX_LOG_LEVEL"
        case .logFormat: "REFLEX_LOG_FORMAT"
        case .mqttListen: "REFLEX_MQTT_LISTEN"
        case .mqttTLSListen: "REFLEX_MQTT_TLS_LISTEN"
        case .mqttTLSCertificate: "REFLEX_MQTT_TLS_CERT"
        case .mqttTLSKey: "REFLEX_MQTT_TLS_KEY"
        case .mqttMaxConnections: "REFLEX_MQTT_MAX_CONNECTIONS"
        case .mqttMaxPacketSize: "REFLEX_MQTT_MAX_PACKET_SIZE"
        case .mqttMaxInflight: "REFLEX_MQTT_MAX_INFLIGHT"
        case .mqttMaxQueuedMessages: "REFLEX_MQTT_MAX_QUEUED_MESSAGES"
        case .mqttQueueOverflow: "REFLEX_MQTT_QUEUE_OVERFLOW"
        case .mqttSysInterval: "REFLEX_MQTT_SYS_INTERVAL"
        case .mqttAllowAnonymous: "REFLEX_ALLOW_ANONYMOUS"
        case .mqttRetainedMaxMessagesPerClient: "REFLEX_MQTT_RETAINED_MAX_MESSAGES_PER_CLIENT"
        case .mqttRetainedMaxBytesPerClient: "REFLEX_MQTT_RETAINED_MAX_BYTES_PER_CLIENT"
        case .mqttRetainedMaxBytes: "REFLEX_MQTT_RETAINED_MAX_BYTES"
        case .httpListen: "REFLEX_HTTP_LISTEN"
        case .httpHeaderTimeout: "REFLEX_HTTP_HEADER_TIMEOUT"
        case .httpBodyTimeout: "REFLEX_HTTP_BODY_TIMEOUT"
        case .httpIdleTimeout: "REFLEX_HTTP_IDLE_TIMEOUT"
        case .httpMaxConnections: "REFLEX_HTTP_MAX_CONNECTIONS"
        case .httpMetricsPublic: "REFLEX_HTTP_METRICS_PUBLIC"
        case .automationRulesDirectory: "REFLEX_RULES_DIR"
        case .automationWebhookTimeout, .automationAckTimeout: nil
        case .detectionEnabled: "REFLEX_DETECTION_ENABLED"
        case .detectionCheckpointInterval: "REFLEX_DETECTION_CHECKPOINT_INTERVAL"
        case .detectionSensitivity: "REFLEX_DETECTION_SENSITIVITY"
        case .detectionCheckInterval, .detectionSeasonality: nil
        case .detectionMaxSeries: "REFLEX_DETECTION_MAX_SERIES"
        case .detectionBufferSize: "REFLEX_DETECTION_BUFFER_SIZE"
        case .detectionMaxLag: "REFLEX_DETECTION_MAX_LAG"
        case .ingestMaxSeriesPerDevice: "REFLEX_INGEST_MAX_SERIES_PER_DEVICE"
        case .ingestMaxSeries: "REFLEX_INGEST_MAX_SERIES"
        case .ingestMaxNewSeriesPerMinute: "REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE"
        case .ingestMaxNewSeriesPerMinutePerNode: "REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE_PER_NODE"
        case .mqttMaxTopicLength, .mqttMaxTopicLevels, .mqttMaxKeepAlive, .mqttV311SessionExpiry,
            .mqttMaxSessionExpiry, .mqttTopicAliasMaximum, .mqttSessionSaveInterval:
            nil
        }
    }

    /// The `reflex serve` flag that sets it, if any.
    var flag: String? {
        switch self {
        case .dataDirectory: "--data-dir"
        case .store: "--store"
        case .logLevel: "--log-level"
        case .logFormat: "--log-format"
        case .mqttListen: "--mqtt-listen"
        case .mqttTLSListen: "--mqtt-tls-listen"
        case .mqttTLSCertificate: "--tls-cert"
        case .mqttTLSKey: "--tls-key"
        case .mqttMaxConnections: "--max-connections"
        case .mqttMaxPacketSize: "--max-packet-size"
        case .mqttMaxInflight: "--max-inflight"
        case .mqttMaxQueuedMessages: "--max-queued-messages"
        case .mqttAllowAnonymous: "--allow-anonymous"
        case .mqttRetainedMaxMessagesPerClient: "--max-retained-per-client"
        case .mqttRetainedMaxBytesPerClient: "--max-retained-bytes-per-client"
        case .mqttRetainedMaxBytes: "--max-retained-bytes"
        case .httpListen: "--http-listen"
        case .httpHeaderTimeout: "--http-header-timeout"
        case .httpBodyTimeout: "--http-body-timeout"
        case .httpIdleTimeout: "--http-idle-timeout"
        case .httpMaxConnections: "--http-max-connections"
        case .httpMetricsPublic: "--http-metrics-public"
        case .automationRulesDirectory: "--rules-dir"
        case .automationWebhookTimeout, .automationAckTimeout: nil
        case .detectionEnabled: "--detection-enabled"
        case .detectionCheckpointInterval: "--detection-checkpoint-interval"
        case .detectionCheckInterval, .detectionSensitivity, .detectionSeasonality: nil
        case .detectionMaxSeries: "--detection-max-series"
        case .detectionBufferSize: "--detection-buffer-size"
        case .detectionMaxLag: "--detection-max-lag"
        case .ingestMaxSeriesPerDevice: "--max-series-per-device"
        case .ingestMaxSeries: "--max-series"
        case .ingestMaxNewSeriesPerMinute: "--max-new-series-per-minute"
        case .ingestMaxNewSeriesPerMinutePerNode: "--max-new-series-per-minute-per-node"
        case .mqttQueueOverflow, .mqttMaxTopicLength, .mqttMaxTopicLevels, .mqttMaxKeepAlive,
            .mqttV311SessionExpiry, .mqttMaxSessionExpiry, .mqttTopicAliasMaximum, .mqttSysInterval,
            .mqttSessionSaveInterval:
            nil
        }
    }

    /// Every way to set it, for messages: "`mqtt.tls.key` in the file, REFLEX_MQTT_TLS_KEY or --tls-key".
    var waysToSet: String {
        var ways = ["`\(rawValue)` in the config file"]
        if let environmentVariable { ways.append(environmentVariable) }
        if let flag { ways.append(flag) }
        switch ways.count {
        case 1: return ways[0]
        case 2: return "\(ways[0]) or \(ways[1])"
        default: return ways.dropLast().joined(separator: ", ") + " or " + ways[ways.count - 1]
        }
    }
}

/// Where a setting's value came from, for error messages.
enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    case file(path: String, line: Int?)
    case environment(String)
    case flag(String)

    /// Reads after the key: "mqtt.maxPacketSize in /etc/reflex.yaml line 4".
    var description: String {
        switch self {
        case .file(let path, let line?): "in \(path) line \(line)"
        case .file(let path, nil): "in \(path)"
        case .environment(let name): "from environment variable \(name)"
        case .flag(let name): "from flag \(name)"
        }
    }
}

/// A setting's value as text, before it is parsed, and where it came from.
struct RawSetting: Sendable, Equatable {
    var text: String
    var source: SettingSource
}

extension SettingKey {
    /// The flag, environment variable and YAML key that set a series limit (for the refusal
    /// messages of ``SeriesGate``).
    static func waysToSet(of limit: SeriesAdmission.Limit) -> String {
        switch limit {
        case .seriesPerDevice: SettingKey.ingestMaxSeriesPerDevice.waysToSet
        case .seriesPerNode: SettingKey.ingestMaxSeries.waysToSet
        case .newSeriesPerMinute: SettingKey.ingestMaxNewSeriesPerMinute.waysToSet
        case .newSeriesPerMinutePerNode: SettingKey.ingestMaxNewSeriesPerMinutePerNode.waysToSet
        }
    }
}
