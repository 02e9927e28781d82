import ReflexNode

extension NodeConfiguration {
    /// Values given on the command line. They win over the environment and the file.
    ///
    /// Values are the flags' text, unparsed, so that a bad value is reported the same way
    /// wherever it came from, naming the flag. nil means "not given".
    public struct Overrides: Sendable, Equatable {
        /// `--data-dir`
        public var dataDirectory: String?
        /// `--store` (`sqlite` or a postgres:// URL)
        public var store: String?
        /// `--log-level`
        public var logLevel: String?
        /// `--log-format`
        public var logFormat: String?
        /// `--mqtt-listen` (`host:port`, or `off`)
        public var mqttListen: String?
        /// `--mqtt-tls-listen` (`host:port`, or `off`)
        public var mqttTLSListen: String?
        /// `--tls-cert` (PEM file)
        public var tlsCertificate: String?
        /// `--tls-key` (PEM file)
        public var tlsKey: String?
        /// `--max-connections`
        public var maxConnections: String?
        /// `--max-packet-size`
        public var maxPacketSize: String?
        /// `--max-inflight`
        public var maxInflight: String?
        /// `--max-queued-messages`
        public var maxQueuedMessages: String?
        /// `--allow-anonymous` (a flag: pass `"true"` when it is given, nil otherwise)
        public var allowAnonymous: String?
        /// `--max-retained-per-client`
        public var maxRetainedPerClient: String?
        /// `--max-retained-bytes-per-client`
        public var maxRetainedBytesPerClient: String?
        /// `--max-retained-bytes`
        public var maxRetainedBytes: String?
        /// `--http-listen` (`host:port`, or `off`)
        public var httpListen: String?
        /// `--http-header-timeout` (a duration: 10, 10s)
        public var httpHeaderTimeout: String?
        /// `--http-body-timeout` (a duration: 30, 30s)
        public var httpBodyTimeout: String?
        /// `--http-idle-timeout` (a duration: 60, 1m)
        public var httpIdleTimeout: String?
        /// `--http-max-connections`
        public var httpMaxConnections: String?
        /// `--http-metrics-public` (a flag: `"true"` when given, nil otherwise)
        public var httpMetricsPublic: String?
        /// `--rules-dir`
        public var rulesDirectory: String?
        /// `--detection-enabled` (true/false)
        public var detectionEnabled: String?
        /// `--detection-checkpoint-interval` (a duration: 60, 60s, 5m)
        public var detectionCheckpointInterval: String?
        /// `--detection-max-series`
        public var detectionMaxSeries: String?
        /// `--detection-buffer-size`
        public var detectionBufferSize: String?
        /// `--detection-max-lag` (a duration: 60, 60s, 5m)
        public var detectionMaxLag: String?
        /// `--max-series-per-device`
        public var maxSeriesPerDevice: String?
        /// `--max-series`
        public var maxSeries: String?
        /// `--max-new-series-per-minute`
        public var maxNewSeriesPerMinute: String?
        /// `--max-new-series-per-minute-per-node`
        public var maxNewSeriesPerMinutePerNode: String?

        /// No overrides; set the properties you were given.
        public init() {}

        /// The flag value for a setting, if one was given.
        func value(for key: SettingKey) -> String? {
            switch key {
            case .dataDirectory: dataDirectory
            case .store: store
            case .logLevel: logLevel
            case .logFormat: logFormat
            case .mqttListen: mqttListen
            case .mqttTLSListen: mqttTLSListen
            case .mqttTLSCertificate: tlsCertificate
            case .mqttTLSKey: tlsKey
            case .mqttMaxConnections: maxConnections
            case .mqttMaxPacketSize: maxPacketSize
            case .mqttMaxInflight: maxInflight
            case .mqttMaxQueuedMessages: maxQueuedMessages
            case .mqttAllowAnonymous: allowAnonymous
            case .mqttRetainedMaxMessagesPerClient: maxRetainedPerClient
            case .mqttRetainedMaxBytesPerClient: maxRetainedBytesPerClient
            case .mqttRetainedMaxBytes: maxRetainedBytes
            case .httpListen: httpListen
            case .httpHeaderTimeout: httpHeaderTimeout
            case .httpBodyTimeout: httpBodyTimeout
            case .httpIdleTimeout: httpIdleTimeout
            case .httpMaxConnections: httpMaxConnections
            case .httpMetricsPublic: httpMetricsPublic
            case .automationRulesDirectory: rulesDirectory
            case .automationWebhookTimeout, .automationAckTimeout: nil
            case .detectionEnabled: detectionEnabled
            case .detectionCheckpointInterval: detectionCheckpointInterval
            case .detectionMaxSeries: detectionMaxSeries
            case .detectionBufferSize: detectionBufferSize
            case .detectionMaxLag: detectionMaxLag
            case .ingestMaxSeriesPerDevice: maxSeriesPerDevice
            case .ingestMaxSeries: maxSeries
            case .ingestMaxNewSeriesPerMinute: maxNewSeriesPerMinute
            case .ingestMaxNewSeriesPerMinutePerNode: maxNewSeriesPerMinutePerNode
            case .detectionCheckInterval, .detectionSensitivity, .detectionSeasonality: nil
            case .mqttQueueOverflow, .mqttMaxTopicLength, .mqttMaxTopicLevels, .mqttMaxKeepAlive,
                .mqttV311SessionExpiry, .mqttMaxSessionExpiry, .mqttTopicAliasMaximum, .mqttSysInterval,
                .mqttSessionSaveInterval:
                nil
            }
        }
    }
}
