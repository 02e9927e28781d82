import Foundation
import Logging
import ReflexMQTT
import ReflexNode
import ReflexStore

extension NodeConfiguration {
    /// The environment variable that names the configuration file when `--config` is not given.
    public static let configFileEnvironmentVariable = "REFLEX_CONFIG"

    /// Loads the configuration from flags, the environment and an optional YAML file, in that
    /// order of precedence over the defaults, and validates it.
    ///
    /// The file is `configFile` (from `--config`), else the file named by `REFLEX_CONFIG`, else
    /// none. See ``init(yaml:filePath:environment:overrides:)`` for the keys and checks.
    /// - Parameters:
    ///   - configFile: the path given with `--config`, if any.
    ///   - environment: the process environment (`ProcessInfo.processInfo.environment`).
    ///   - overrides: the flags given on the command line.
    /// - Throws: ``ConfigurationError`` naming the key, where the value came from and how to fix it.
    public static func load(
        configFile: String?,
        environment: [String: String],
        overrides: Overrides
    ) throws(ConfigurationError) -> NodeConfiguration {
        let fileOrigin: String
        let filePath: String
        if let configFile {
            (filePath, fileOrigin) = (configFile, "flag --config")
        } else if let named = environment[configFileEnvironmentVariable], !named.isEmpty {
            (filePath, fileOrigin) = (named, "environment variable \(configFileEnvironmentVariable)")
        } else {
            return try NodeConfiguration(yaml: nil, filePath: "", environment: environment, overrides: overrides)
        }
        let yaml: String
        do {
            yaml = try String(contentsOfFile: filePath, encoding: .utf8)
        } catch {
            let reason: String
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: filePath, isDirectory: &isDirectory) {
                reason = "does not exist"
            } else if isDirectory.boolValue {
                reason = "is a directory"
            } else if !FileManager.default.isReadableFile(atPath: filePath) {
                reason = "is not readable"
            } else {
                reason = "cannot be read as UTF-8 text"
            }
            throw ConfigurationError(
                key: nil,
                message: "configuration file '\(filePath)' (from \(fileOrigin)) \(reason)"
                    + "\(relativeNote(filePath)); check the path, or leave it out to use the defaults"
            )
        }
        return try NodeConfiguration(yaml: yaml, filePath: filePath, environment: environment, overrides: overrides)
    }

    /// Builds the configuration from YAML text, the environment and flags, and validates it.
    ///
    /// Each setting is taken from the first source that has it: flag, environment variable, file;
    /// otherwise its default stays. Keys (YAML, environment, flag; default):
    /// - `dataDirectory`, `REFLEX_DATA_DIR`, `--data-dir`; `./reflex-data`
    /// - `store`, `REFLEX_STORE`, `--store`; `sqlite` (or `postgres://USER:PASSWORD@HOST:PORT/DB`)
    /// - `log.level`, `REFLEX_LOG_LEVEL`, `--log-level`; `info`
    /// - `log.format`, `REFLEX_LOG_FORMAT`, `--log-format`; `text` (or `json`)
    /// - `mqtt.listen`, `REFLEX_MQTT_LISTEN`, `--mqtt-listen`; `0.0.0.0:1883` (`off` or empty disables)
    /// - `mqtt.tlsListen`, `REFLEX_MQTT_TLS_LISTEN`, `--mqtt-tls-listen`; off
    /// - `mqtt.tls.certificate`, `REFLEX_MQTT_TLS_CERT`, `--tls-cert`; none (PEM file)
    /// - `mqtt.tls.key`, `REFLEX_MQTT_TLS_KEY`, `--tls-key`; none (PEM file)
    /// - `mqtt.maxConnections`, `REFLEX_MQTT_MAX_CONNECTIONS`, `--max-connections`; 100000
    /// - `mqtt.maxPacketSize`, `REFLEX_MQTT_MAX_PACKET_SIZE`, `--max-packet-size`; 1MiB (64 to 268435455 bytes)
    /// - `mqtt.maxInflight`, `REFLEX_MQTT_MAX_INFLIGHT`, `--max-inflight`; 64
    /// - `mqtt.maxQueuedMessages`, `REFLEX_MQTT_MAX_QUEUED_MESSAGES`, `--max-queued-messages`; 100000
    /// - `mqtt.queueOverflow`, `REFLEX_MQTT_QUEUE_OVERFLOW`; `disconnect` (or `drop`)
    /// - `mqtt.sysInterval`, `REFLEX_MQTT_SYS_INTERVAL`; 10 seconds (0 disables `$SYS`)
    /// - `mqtt.allowAnonymous`, `REFLEX_ALLOW_ANONYMOUS`, `--allow-anonymous`; false (true/false,
    ///   yes/no, on/off, 1/0)
    /// - `mqtt.retained.maxMessagesPerClient`, `REFLEX_MQTT_RETAINED_MAX_MESSAGES_PER_CLIENT`,
    ///   `--max-retained-per-client`; 1000
    /// - `mqtt.retained.maxBytesPerClient`, `REFLEX_MQTT_RETAINED_MAX_BYTES_PER_CLIENT`,
    ///   `--max-retained-bytes-per-client`; 16MiB
    /// - `mqtt.retained.maxBytes`, `REFLEX_MQTT_RETAINED_MAX_BYTES`, `--max-retained-bytes`; 1024MiB
    ///   (the whole node)
    /// - `http.listen`, `REFLEX_HTTP_LISTEN`, `--http-listen`; `0.0.0.0:8080` (`off` or empty disables)
    /// - `http.headerTimeout`, `REFLEX_HTTP_HEADER_TIMEOUT`, `--http-header-timeout`; 10 s
    /// - `http.bodyTimeout`, `REFLEX_HTTP_BODY_TIMEOUT`, `--http-body-timeout`; 30 s
    /// - `http.idleTimeout`, `REFLEX_HTTP_IDLE_TIMEOUT`, `--http-idle-timeout`; 60 s
    /// - `http.maxConnections`, `REFLEX_HTTP_MAX_CONNECTIONS`, `--http-max-connections`; 1024
    /// - `http.metricsPublic`, `REFLEX_HTTP_METRICS_PUBLIC`, `--http-metrics-public`; false (true:
    ///   `GET /metrics` needs no token)
    /// - `automation.rulesDirectory`, `REFLEX_RULES_DIR`, `--rules-dir`; `<dataDirectory>/rules`
    /// - file only: `automation.webhookTimeout` (5 s), `automation.ackTimeout` (10 s).
    /// - `detection.enabled`, `REFLEX_DETECTION_ENABLED`, `--detection-enabled`; true
    /// - `detection.checkpointInterval`, `REFLEX_DETECTION_CHECKPOINT_INTERVAL`,
    ///   `--detection-checkpoint-interval`; 60 s
    /// - `detection.defaults.sensitivity`, `REFLEX_DETECTION_SENSITIVITY`; 0.5
    /// - file only: `detection.checkInterval` (5 s), `detection.defaults.seasonality` (none),
    ///   `detection.rules` (none; see ``DetectionConfiguration``).
    /// - `ingest.maxSeriesPerDevice`, `REFLEX_INGEST_MAX_SERIES_PER_DEVICE`, `--max-series-per-device`; 1000
    /// - `ingest.maxSeries`, `REFLEX_INGEST_MAX_SERIES`, `--max-series`; 100000
    /// - `ingest.maxNewSeriesPerMinute`, `REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE`,
    ///   `--max-new-series-per-minute`; 100
    /// - `ingest.maxNewSeriesPerMinutePerNode`, `REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE_PER_NODE`,
    ///   `--max-new-series-per-minute-per-node`; 10000
    /// - `detection.bufferSize`, `REFLEX_DETECTION_BUFFER_SIZE`, `--detection-buffer-size`; 100,000
    /// - `detection.maxLag`, `REFLEX_DETECTION_MAX_LAG`, `--detection-max-lag`; 60 s
    /// - `detection.maxSeries`, `REFLEX_DETECTION_MAX_SERIES`, `--detection-max-series`; the value
    ///   of `ingest.maxSeries`
    /// - file only: `mqtt.maxTopicLength` (65535), `mqtt.maxTopicLevels` (64), `mqtt.maxKeepAlive`
    ///   (65535 s), `mqtt.v311SessionExpiry` (7d), `mqtt.maxSessionExpiry` (30d),
    ///   `mqtt.topicAliasMaximum` (64), `mqtt.sessionSaveInterval` (5 s).
    ///
    /// Durations are seconds or take a unit (`90s`, `5m`, `2h`, `7d`); byte sizes take `KiB`/`MiB`.
    ///
    /// Checks: every value parses and is in range; unknown YAML keys are rejected with a
    /// suggestion; at least one listener is on; a TLS listener has a certificate and a key that
    /// are readable files; the listeners do not share a port; the data directory exists or can be
    /// created, and is writable (it is created here).
    /// - Parameters:
    ///   - yaml: the configuration file's contents, or nil for no file.
    ///   - filePath: the file's path, for messages.
    ///   - environment: environment variables; only `REFLEX_*` ones are read.
    ///   - overrides: the flags.
    /// - Throws: ``ConfigurationError``; when several values are bad, one line per problem.
    public init(
        yaml: String?,
        filePath: String,
        environment: [String: String],
        overrides: Overrides
    ) throws(ConfigurationError) {
        let fileSettings =
            try yaml.map { (yaml) throws(ConfigurationError) in
                try YAMLSettings.read(yaml, path: filePath)
            } ?? [:]
        var resolved: [SettingKey: RawSetting] = [:]
        for key in SettingKey.allCases {
            if let flag = key.flag, let value = overrides.value(for: key) {
                resolved[key] = RawSetting(text: value, source: .flag(flag))
            } else if let variable = key.environmentVariable, let value = environment[variable] {
                resolved[key] = RawSetting(text: value, source: .environment(variable))
            } else if let setting = fileSettings[key] {
                resolved[key] = setting
            }
        }
        var builder = Builder(settings: resolved)
        self = builder.build()
        if let error = builder.combinedError { throw error }
        if let yaml { detection.rules = try DetectionRulesYAML.read(yaml, path: filePath) }
        try self.validate(settings: resolved)
    }

    /// A note for messages about relative paths: where they are resolved from.
    static func relativeNote(_ path: String) -> String {
        path.hasPrefix("/") ? "" : " (relative to the working directory \(FileManager.default.currentDirectoryPath))"
    }
}

/// Parses each resolved setting into a configuration, collecting every problem.
private struct Builder {
    let settings: [SettingKey: RawSetting]
    var errors: [ConfigurationError] = []

    init(settings: [SettingKey: RawSetting]) {
        self.settings = settings
    }

    var combinedError: ConfigurationError? {
        guard let first = errors.first else { return nil }
        return ConfigurationError(key: first.key, message: errors.map(\.message).joined(separator: "\n"))
    }

    /// The setting parsed with `parser`, or nil when it is not set or does not parse (then the
    /// problem is recorded with the key, the source and the text).
    mutating func value<Value>(_ key: SettingKey, _ parser: (String) throws(ValueProblem) -> Value) -> Value? {
        guard let setting = settings[key] else { return nil }
        do {
            return try parser(setting.text)
        } catch {
            let hint = error.hint.map { "; \($0)" } ?? ""
            // A database URL may hold a password: never echo it.
            let shown = key == .store ? StoreLocation.redacted(setting.text) : setting.text
            let message = "\(key.rawValue) \(setting.source): expected \(error.expected), got '\(shown)'\(hint)"
            errors.append(ConfigurationError(key: key.rawValue, message: message))
            return nil
        }
    }

    mutating func build() -> NodeConfiguration {
        typealias V = ValueParsers
        typealias Endpoint = BrokerConfiguration.Endpoint
        var configuration = NodeConfiguration()
        if let path = value(.dataDirectory, { (text) throws(ValueProblem) in try V.path(text, of: "a directory") }) {
            configuration.dataDirectory = path
        }
        if let store = value(
            .store,
            { (text) throws(ValueProblem) in
                do throws(StoreLocationError) {
                    return try StoreLocation.parse(text)
                } catch {
                    throw ValueProblem(
                        expected: "`sqlite` or postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                        hint: error.message
                    )
                }
            }
        ) {
            configuration.store = store
        }
        let levels = Logger.Level.allCases.map { ($0.rawValue, $0) }
        if let level = value(.logLevel, { (text) throws(ValueProblem) in try V.choice(text, among: levels) }) {
            configuration.logLevel = level
        }
        let formats = NodeConfiguration.LogFormat.allCases.map { ($0.rawValue, $0) }
        if let format = value(.logFormat, { (text) throws(ValueProblem) in try V.choice(text, among: formats) }) {
            configuration.logFormat = format
        }

        var mqtt = BrokerConfiguration()
        if let listen = value(.mqttListen, { (text) throws(ValueProblem) in try Endpoint.parse(listener: text) }) {
            mqtt.tcp = listen
        }
        if let listen = value(.mqttTLSListen, { (text) throws(ValueProblem) in try Endpoint.parse(listener: text) }) {
            mqtt.tls = listen
        }
        let certificate = value(.mqttTLSCertificate) { (text) throws(ValueProblem) in
            try V.path(text, of: "a PEM certificate file")
        }
        let key = value(.mqttTLSKey) { (text) throws(ValueProblem) in try V.path(text, of: "a PEM private key file") }
        if let certificate, let key {
            mqtt.tlsFiles = BrokerConfiguration.TLSFiles(certificatePath: certificate, keyPath: key)
        }
        mqtt.maxConnections =
            value(.mqttMaxConnections) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...10_000_000, of: "connections")
            } ?? mqtt.maxConnections
        mqtt.maxPacketSize =
            value(.mqttMaxPacketSize) { (text) throws(ValueProblem) in
                try V.integer(text, in: 64...268_435_455, of: "bytes", suffixes: V.byteSuffixes)
            } ?? mqtt.maxPacketSize
        mqtt.maxInflight =
            value(.mqttMaxInflight) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...65_535, of: "messages")
            } ?? mqtt.maxInflight
        mqtt.maxQueuedMessages =
            value(.mqttMaxQueuedMessages) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...10_000_000, of: "messages")
            } ?? mqtt.maxQueuedMessages
        let policies = BrokerConfiguration.QueueOverflowPolicy.allCases.map { ($0.rawValue, $0) }
        mqtt.queueOverflowPolicy =
            value(.mqttQueueOverflow) { (text) throws(ValueProblem) in
                try V.choice(text, among: policies)
            } ?? mqtt.queueOverflowPolicy
        mqtt.maxTopicLength =
            value(.mqttMaxTopicLength) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...65_535, of: "bytes", suffixes: V.byteSuffixes)
            } ?? mqtt.maxTopicLength
        mqtt.maxTopicLevels =
            value(.mqttMaxTopicLevels) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...32_768, of: "levels")
            } ?? mqtt.maxTopicLevels
        mqtt.maxKeepAliveSeconds =
            value(.mqttMaxKeepAlive) { (text) throws(ValueProblem) in
                try V.seconds(text, in: 1...65_535)
            } ?? mqtt.maxKeepAliveSeconds
        mqtt.v311SessionExpirySeconds =
            value(.mqttV311SessionExpiry) { (text) throws(ValueProblem) in
                UInt32(try V.seconds(text, in: 0...Int(UInt32.max)))
            } ?? mqtt.v311SessionExpirySeconds
        mqtt.maxSessionExpirySeconds =
            value(.mqttMaxSessionExpiry) { (text) throws(ValueProblem) in
                UInt32(try V.seconds(text, in: 0...Int(UInt32.max)))
            } ?? mqtt.maxSessionExpirySeconds
        mqtt.topicAliasMaximum =
            value(.mqttTopicAliasMaximum) { (text) throws(ValueProblem) in
                UInt16(try V.integer(text, in: 0...65_535, of: "aliases"))
            } ?? mqtt.topicAliasMaximum
        mqtt.sysIntervalSeconds =
            value(.mqttSysInterval) { (text) throws(ValueProblem) in
                try V.seconds(text, in: 0...86_400, note: "0 turns $SYS topics off")
            } ?? mqtt.sysIntervalSeconds
        mqtt.sessionSaveIntervalSeconds =
            value(.mqttSessionSaveInterval) { (text) throws(ValueProblem) in
                try V.seconds(text, in: 1...86_400)
            } ?? mqtt.sessionSaveIntervalSeconds
        mqtt.maxRetainedMessagesPerClient =
            value(.mqttRetainedMaxMessagesPerClient) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...10_000_000, of: "messages")
            } ?? mqtt.maxRetainedMessagesPerClient
        mqtt.maxRetainedBytesPerClient =
            value(.mqttRetainedMaxBytesPerClient) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...Int(Int32.max), of: "bytes", suffixes: V.byteSuffixes)
            } ?? mqtt.maxRetainedBytesPerClient
        mqtt.maxRetainedBytes =
            value(.mqttRetainedMaxBytes) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...(1 << 40), of: "bytes", suffixes: V.byteSuffixes)
            } ?? mqtt.maxRetainedBytes
        configuration.mqtt = mqtt
        if let listen = value(.httpListen, { (text) throws(ValueProblem) in try Endpoint.parse(listener: text) }) {
            configuration.http.listen = listen
        }
        buildHTTPLimits(into: &configuration.http)
        if let directory = value(.automationRulesDirectory, { (text) throws(ValueProblem) in text }), !directory.isEmpty
        {
            configuration.automation.rulesDirectory = directory
        }
        configuration.automation.webhookTimeout =
            value(.automationWebhookTimeout) { (text) throws(ValueProblem) in
                .seconds(try V.seconds(text, in: 1...300))
            } ?? configuration.automation.webhookTimeout
        configuration.automation.ackTimeout =
            value(.automationAckTimeout) { (text) throws(ValueProblem) in
                .seconds(try V.seconds(text, in: 1...3600))
            } ?? configuration.automation.ackTimeout
        configuration.allowAnonymous =
            value(.mqttAllowAnonymous) { (text) throws(ValueProblem) in try V.boolean(text) }
            ?? configuration.allowAnonymous
        buildSeriesLimits(into: &configuration.seriesLimits)
        buildDetection(into: &configuration.detection)
        configuration.detection.maxSeries =
            value(.detectionMaxSeries) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...10_000_000, of: "series")
            } ?? configuration.seriesLimits.maxSeries
        return configuration
    }

    mutating func buildHTTPLimits(into http: inout HTTPAPIConfiguration) {
        typealias V = ValueParsers
        for (key, path) in [
            (SettingKey.httpHeaderTimeout, \HTTPAPIConfiguration.headerTimeout),
            (.httpBodyTimeout, \.bodyTimeout), (.httpIdleTimeout, \.idleTimeout),
        ] {
            if let seconds = value(key, { (text) throws(ValueProblem) in try V.seconds(text, in: 1...86_400) }) {
                http[keyPath: path] = .seconds(seconds)
            }
        }
        http.maxConnections =
            value(.httpMaxConnections) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...1_000_000, of: "connections")
            } ?? http.maxConnections
        http.metricsPublic =
            value(.httpMetricsPublic) { (text) throws(ValueProblem) in try V.boolean(text) } ?? http.metricsPublic
    }

    mutating func buildSeriesLimits(into limits: inout SeriesLimits) {
        typealias V = ValueParsers
        limits.maxSeriesPerDevice =
            value(.ingestMaxSeriesPerDevice) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...10_000_000, of: "series")
            } ?? limits.maxSeriesPerDevice
        limits.maxSeries =
            value(.ingestMaxSeries) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...100_000_000, of: "series")
            } ?? limits.maxSeries
        limits.maxNewSeriesPerMinute =
            value(.ingestMaxNewSeriesPerMinute) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...10_000_000, of: "series")
            } ?? limits.maxNewSeriesPerMinute
        limits.maxNewSeriesPerMinutePerNode =
            value(.ingestMaxNewSeriesPerMinutePerNode) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...100_000_000, of: "series")
            } ?? limits.maxNewSeriesPerMinutePerNode
    }

    mutating func buildDetection(into detection: inout DetectionConfiguration) {
        typealias V = ValueParsers
        detection.isEnabled =
            value(.detectionEnabled) { (text) throws(ValueProblem) in try V.boolean(text) } ?? detection.isEnabled
        if let seconds = value(
            .detectionCheckpointInterval,
            { (text) throws(ValueProblem) in
                try V.seconds(text, in: 1...86_400)
            }
        ) {
            detection.checkpointInterval = .seconds(seconds)
        }
        if let seconds = value(
            .detectionCheckInterval,
            { (text) throws(ValueProblem) in
                try V.seconds(text, in: 1...3_600)
            }
        ) {
            detection.checkInterval = .seconds(seconds)
        }
        if let sensitivity = value(.detectionSensitivity, { (text) throws(ValueProblem) in try V.fraction(text) }) {
            detection.defaults.sensitivity = sensitivity
        }
        if let seconds = value(
            .detectionSeasonality,
            { (text) throws(ValueProblem) in
                try V.seconds(text, in: 1...(366 * 86_400))
            }
        ) {
            detection.defaults.seasonality = .seconds(seconds)
        }
        detection.bufferSize =
            value(.detectionBufferSize) { (text) throws(ValueProblem) in
                try V.integer(text, in: 1...10_000_000, of: "batches")
            } ?? detection.bufferSize
        if let seconds = value(
            .detectionMaxLag,
            { (text) throws(ValueProblem) in
                try V.seconds(text, in: 1...86_400)
            }
        ) {
            detection.maxLag = .seconds(seconds)
        }
    }
}
