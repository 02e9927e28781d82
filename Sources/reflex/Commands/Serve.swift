import ArgumentParser
import Foundation
import Logging
import ReflexDemo
import ReflexServer
import ReflexStore
import ServiceLifecycle

/// `reflex serve`: run a node. Only turns flags into ``NodeConfiguration/Overrides``; loading,
/// validation and the services live in `ReflexServer`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run a Reflex node: the embedded MQTT broker, ingest and storage, detection, automation and the dashboard.",
        discussion: """
            Settings are taken, in order of precedence, from flags, then environment variables, then \
            the YAML configuration file, then the built-in defaults. With nothing set, the node listens \
            for MQTT on 0.0.0.0:1883, serves the HTTP API on 0.0.0.0:8080 and keeps its state in ./reflex-data (relative to the working \
            directory). Every value is checked at startup; a bad one stops the node with a message \
            naming the key, where it was set and what is accepted (exit status 2).

            MQTT clients must authenticate: a device with its id as user name and its token as \
            password (`reflex device add <id>` prints the token), confined to devices/<id>/; an \
            admin operator token as password (any user name) may use every topic. At the first \
            start, if no admin operator token exists, one is created and printed once on standard \
            output. --allow-anonymous also lets clients without credentials connect and use every \
            topic except $SYS: a development mode, announced with a warning at startup.

            Examples:
              reflex serve
              reflex serve --mqtt-listen 127.0.0.1:1883 --log-level debug
              reflex serve --demo                   # simulated fleet, demo rules, dashboard
              reflex serve --allow-anonymous        # development only
              reflex serve --http-listen 127.0.0.1:8080
              reflex serve --config /etc/reflex.yaml --log-format json
              REFLEX_MQTT_LISTEN='[::]:1883' reflex serve
              reflex serve --mqtt-tls-listen 0.0.0.0:8883 \\
                --tls-cert server.pem --tls-key server.key

            Configuration file (YAML, every key optional; defaults shown):
              dataDirectory: ./reflex-data
              store: sqlite             # or postgres://USER:PASSWORD@HOST:5432/DB
              log:
                level: info             # trace, debug, info, notice, warning,
                                        # error or critical
                format: text            # text or json
              mqtt:
                listen: "0.0.0.0:1883"  # quote IPv6: "[::1]:1883"; off disables
                tlsListen: off          # e.g. "0.0.0.0:8883"; needs tls files
                tls: {certificate: server.pem, key: server.key}
                maxConnections: 100000
                maxPacketSize: 1MiB     # 64 to 268435455 bytes; KiB, MiB
                maxInflight: 64
                maxQueuedMessages: 100000
                queueOverflow: disconnect   # or drop
                maxTopicLength: 65535
                maxTopicLevels: 64
                maxKeepAlive: 65535     # durations: seconds, or 90s, 5m, 2h, 7d
                v311SessionExpiry: 7d
                maxSessionExpiry: 30d
                topicAliasMaximum: 64
                sysInterval: 10s        # 0 turns $SYS topics off
                sessionSaveInterval: 5s
                retained:               # quotas per publishing identity
                  maxMessagesPerClient: 1000
                  maxBytesPerClient: 16MiB
                  maxBytes: 1024MiB     # all retained messages of the node
                allowAnonymous: false   # true lets clients connect without
                                        # credentials (development only)
              http:
                listen: "0.0.0.0:8080"  # the HTTP API; off disables it
                headerTimeout: 10s      # first request head of a connection
                bodyTimeout: 30s        # a request body, from its head
                idleTimeout: 60s        # kept-alive connection between requests
                maxConnections: 1024    # more are answered 503 and closed
              detection:
                enabled: true           # score every numeric series live
                checkpointInterval: 60s # detector state saved this often
                checkInterval: 5s       # silence checks this often
                maxSeries: 100000       # series with a detector; default
                                        # ingest.maxSeries
                defaults: {sensitivity: 0.5, seasonality: 1d}  # none by default
                rules:                  # per device type and/or metric
                  - {deviceType: pump, metric: vibration, sensitivity: 0.7,
                     seasonality: 1d, range: [0, 50], enabled: true}
              ingest:
                maxSeriesPerDevice: 1000    # metrics one device may have
                maxSeries: 100000           # device series on the node
                maxNewSeriesPerMinute: 100  # per device
                maxNewSeriesPerMinutePerNode: 10000  # all devices

            Environment variables: REFLEX_CONFIG, REFLEX_DATA_DIR, REFLEX_STORE, REFLEX_LOG_LEVEL, REFLEX_LOG_FORMAT, \
            REFLEX_MQTT_LISTEN, REFLEX_MQTT_TLS_LISTEN, REFLEX_MQTT_TLS_CERT, REFLEX_MQTT_TLS_KEY, \
            REFLEX_MQTT_MAX_CONNECTIONS, REFLEX_MQTT_MAX_PACKET_SIZE, REFLEX_MQTT_MAX_INFLIGHT, \
            REFLEX_MQTT_MAX_QUEUED_MESSAGES, REFLEX_MQTT_QUEUE_OVERFLOW, REFLEX_MQTT_SYS_INTERVAL, \
            REFLEX_MQTT_RETAINED_MAX_MESSAGES_PER_CLIENT, REFLEX_MQTT_RETAINED_MAX_BYTES_PER_CLIENT, \
            REFLEX_MQTT_RETAINED_MAX_BYTES, \
            REFLEX_ALLOW_ANONYMOUS, REFLEX_HTTP_LISTEN, REFLEX_HTTP_HEADER_TIMEOUT, \
            REFLEX_HTTP_BODY_TIMEOUT, REFLEX_HTTP_IDLE_TIMEOUT, REFLEX_HTTP_MAX_CONNECTIONS, REFLEX_HTTP_METRICS_PUBLIC, \
            REFLEX_DETECTION_ENABLED, \
            REFLEX_DETECTION_CHECKPOINT_INTERVAL, REFLEX_DETECTION_SENSITIVITY, REFLEX_DETECTION_MAX_SERIES, \
            REFLEX_INGEST_MAX_SERIES_PER_DEVICE, REFLEX_INGEST_MAX_SERIES, REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE, \
            REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE_PER_NODE.

            SIGTERM or Ctrl-C (SIGINT) shuts the node down gracefully; it then exits with status 0.
            """
    )

    @Option(
        name: .customLong("config"),
        help: ArgumentHelp("YAML configuration file (env REFLEX_CONFIG; default: none).", valueName: "file")
    )
    var configFile: String?

    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(
            "Directory for the node's state, created if missing (env REFLEX_DATA_DIR; default: ./reflex-data).",
            valueName: "directory"
        )
    )
    var dataDirectory: String?

    @Option(
        name: .customLong("store"),
        help: ArgumentHelp(
            "Where the data is kept: sqlite (files in the data directory) or postgres://USER:PASSWORD@HOST:PORT/DATABASE (env REFLEX_STORE; default: sqlite; docs/storage.md).",
            valueName: "backend"
        )
    )
    var store: String?

    @Option(
        name: .customLong("log-level"),
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical (env REFLEX_LOG_LEVEL; default: info).",
            valueName: "level"
        )
    )
    var logLevel: String?

    @Option(
        name: .customLong("log-format"),
        help: ArgumentHelp(
            "text, or json for one JSON object per line (env REFLEX_LOG_FORMAT; default: text).",
            valueName: "format"
        )
    )
    var logFormat: String?

    @Option(
        name: .customLong("mqtt-listen"),
        help: ArgumentHelp(
            "MQTT over TCP address, e.g. 127.0.0.1:1883 or [::]:1883; off disables it (env REFLEX_MQTT_LISTEN; default: 0.0.0.0:1883).",
            valueName: "host:port"
        )
    )
    var mqttListen: String?

    @Option(
        name: .customLong("mqtt-tls-listen"),
        help: ArgumentHelp(
            "MQTT over TLS address, e.g. 0.0.0.0:8883; needs --tls-cert and --tls-key (env REFLEX_MQTT_TLS_LISTEN; default: off).",
            valueName: "host:port"
        )
    )
    var mqttTLSListen: String?

    @Option(
        name: .customLong("tls-cert"),
        help: ArgumentHelp("TLS certificate chain, PEM (env REFLEX_MQTT_TLS_CERT; default: none).", valueName: "file")
    )
    var tlsCertificate: String?

    @Option(
        name: .customLong("tls-key"),
        help: ArgumentHelp("TLS private key, PEM (env REFLEX_MQTT_TLS_KEY; default: none).", valueName: "file")
    )
    var tlsKey: String?

    @Option(
        name: .customLong("max-connections"),
        help: ArgumentHelp(
            "Most MQTT clients connected at once (env REFLEX_MQTT_MAX_CONNECTIONS; default: 100000).",
            valueName: "count"
        )
    )
    var maxConnections: String?

    @Option(
        name: .customLong("max-packet-size"),
        help: ArgumentHelp(
            "Largest MQTT packet accepted, in bytes; KiB and MiB accepted (env REFLEX_MQTT_MAX_PACKET_SIZE; default: 1MiB).",
            valueName: "bytes"
        )
    )
    var maxPacketSize: String?

    @Option(
        name: .customLong("max-inflight"),
        help: ArgumentHelp(
            "Unacknowledged QoS 1/2 messages toward one client (env REFLEX_MQTT_MAX_INFLIGHT; default: 64).",
            valueName: "count"
        )
    )
    var maxInflight: String?

    @Option(
        name: .customLong("max-queued-messages"),
        help: ArgumentHelp(
            "Messages queued for one client beyond the inflight window (env REFLEX_MQTT_MAX_QUEUED_MESSAGES; default: 100000).",
            valueName: "count"
        )
    )
    var maxQueuedMessages: String?

    @Option(
        name: .customLong("max-retained-per-client"),
        help: ArgumentHelp(
            "Retained messages one identity may keep; more are refused with 0x97 (env REFLEX_MQTT_RETAINED_MAX_MESSAGES_PER_CLIENT; default: 1000).",
            valueName: "count"
        )
    )
    var maxRetainedPerClient: String?

    @Option(
        name: .customLong("max-retained-bytes-per-client"),
        help: ArgumentHelp(
            "Bytes of retained messages one identity may keep (env REFLEX_MQTT_RETAINED_MAX_BYTES_PER_CLIENT; default: 16MiB).",
            valueName: "bytes"
        )
    )
    var maxRetainedBytesPerClient: String?

    @Option(
        name: .customLong("max-retained-bytes"),
        help: ArgumentHelp(
            "Bytes of retained messages the node keeps in all (env REFLEX_MQTT_RETAINED_MAX_BYTES; default: 1024MiB).",
            valueName: "bytes"
        )
    )
    var maxRetainedBytes: String?

    @Option(
        name: .customLong("http-listen"),
        help: ArgumentHelp(
            "HTTP API address, e.g. 127.0.0.1:8080 or [::]:8080; off disables it (env REFLEX_HTTP_LISTEN; default: 0.0.0.0:8080).",
            valueName: "host:port"
        )
    )
    var httpListen: String?

    @Option(
        name: .customLong("http-header-timeout"),
        help: ArgumentHelp(
            "Time a new HTTP connection has to send its first request head (env REFLEX_HTTP_HEADER_TIMEOUT; default: 10s).",
            valueName: "duration"
        )
    )
    var httpHeaderTimeout: String?

    @Option(
        name: .customLong("http-body-timeout"),
        help: ArgumentHelp(
            "Time an HTTP request body has to arrive, from its head (env REFLEX_HTTP_BODY_TIMEOUT; default: 30s).",
            valueName: "duration"
        )
    )
    var httpBodyTimeout: String?

    @Option(
        name: .customLong("http-idle-timeout"),
        help: ArgumentHelp(
            "Time a kept-alive HTTP connection may stay idle between requests (env REFLEX_HTTP_IDLE_TIMEOUT; default: 60s).",
            valueName: "duration"
        )
    )
    var httpIdleTimeout: String?

    @Option(
        name: .customLong("http-max-connections"),
        help: ArgumentHelp(
            "HTTP connections open at once; more are answered 503 and closed (env REFLEX_HTTP_MAX_CONNECTIONS; default: 1024).",
            valueName: "count"
        )
    )
    var httpMaxConnections: String?

    @Flag(
        name: .customLong("http-metrics-public"),
        help: ArgumentHelp(
            "Serve GET /metrics without a token, for a scraper on a private network (env REFLEX_HTTP_METRICS_PUBLIC; default: off, a viewer token is needed)."
        )
    )
    var httpMetricsPublic = false

    @Option(
        name: .customLong("rules-dir"),
        help: ArgumentHelp(
            "Directory of rule files (*.yaml), reloaded on change (env REFLEX_RULES_DIR; default: <data-dir>/rules).",
            valueName: "directory"
        )
    )
    var rulesDirectory: String?

    @Option(
        name: .customLong("detection-enabled"),
        help: ArgumentHelp(
            "Score every numeric series live and watch its data quality (env REFLEX_DETECTION_ENABLED; default: true).",
            valueName: "true|false"
        )
    )
    var detectionEnabled: String?

    @Option(
        name: .customLong("detection-checkpoint-interval"),
        help: ArgumentHelp(
            "How often detector state is checkpointed, e.g. 60s or 5m (env REFLEX_DETECTION_CHECKPOINT_INTERVAL; default: 60s).",
            valueName: "duration"
        )
    )
    var detectionCheckpointInterval: String?

    @Option(
        name: .customLong("detection-max-series"),
        help: ArgumentHelp(
            "Most series with a live detector; new series past it are not scored (env REFLEX_DETECTION_MAX_SERIES; default: 100000).",
            valueName: "count"
        )
    )
    var detectionMaxSeries: String?

    @Option(
        name: .customLong("detection-buffer-size"),
        help: ArgumentHelp(
            "Committed batches waiting in memory for detection; past it detection catches up from the store (env REFLEX_DETECTION_BUFFER_SIZE; default: 100000).",
            valueName: "count"
        )
    )
    var detectionBufferSize: String?

    @Option(
        name: .customLong("detection-max-lag"),
        help: ArgumentHelp(
            "How far behind ingest detection may fall before /health says degraded, e.g. 60s (env REFLEX_DETECTION_MAX_LAG; default: 60s).",
            valueName: "duration"
        )
    )
    var detectionMaxLag: String?

    @Option(
        name: .customLong("max-series-per-device"),
        help: ArgumentHelp(
            "Most series (metrics) one device may have; samples of more go to dead letters (env REFLEX_INGEST_MAX_SERIES_PER_DEVICE; default: 1000).",
            valueName: "count"
        )
    )
    var maxSeriesPerDevice: String?

    @Option(
        name: .customLong("max-series"),
        help: ArgumentHelp(
            "Most device series the node keeps (env REFLEX_INGEST_MAX_SERIES; default: 100000).",
            valueName: "count"
        )
    )
    var maxSeries: String?

    @Option(
        name: .customLong("max-new-series-per-minute"),
        help: ArgumentHelp(
            "Most new series one device may create per minute (env REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE; default: 100).",
            valueName: "count"
        )
    )
    var maxNewSeriesPerMinute: String?

    @Option(
        name: .customLong("max-new-series-per-minute-per-node"),
        help: ArgumentHelp(
            "Most new series all devices together may create per minute (env REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE_PER_NODE; default: 10000).",
            valueName: "count"
        )
    )
    var maxNewSeriesPerMinutePerNode: String?

    @Flag(
        name: .customLong("demo"),
        help: ArgumentHelp(
            "Run the demo: a simulated fleet on this node's broker, the demo rules, seeded faults and a maintenance crew; state in ./reflex-demo-data unless --data-dir is given (docs/autonomy.md)."
        )
    )
    var demo = false

    @Option(
        name: .customLong("demo-devices"),
        help: ArgumentHelp(
            "Simulated devices in the demo, about one chiller per four (default: 12).",
            valueName: "count"
        )
    )
    var demoDevices: Int = 12

    @Option(
        name: .customLong("demo-speed"),
        help: ArgumentHelp(
            "Simulated seconds per wall second in the demo (default: 1); rule durations stay wall time.",
            valueName: "factor"
        )
    )
    var demoSpeed: Double = 1

    @Flag(
        name: .customLong("allow-anonymous"),
        help: ArgumentHelp(
            "Let MQTT clients without credentials connect and use every topic except $SYS; development only (env REFLEX_ALLOW_ANONYMOUS; default: off)."
        )
    )
    var allowAnonymous = false

    func validate() throws {
        guard (1...1000).contains(demoDevices) else { throw ValidationError("--demo-devices must be 1...1000") }
        guard demoSpeed > 0, demoSpeed <= 100, demoSpeed.isFinite else {
            throw ValidationError("--demo-speed must be a number above 0 and at most 100, e.g. 2")
        }
    }

    func run() async throws {
        // Before anything is created: the data directory and its databases are the owner's only.
        PrivateDataDirectory.restrictUmask()
        var overrides = NodeConfiguration.Overrides()
        overrides.dataDirectory = dataDirectory
        overrides.store = store
        let environment = ProcessInfo.processInfo.environment
        if demo, dataDirectory == nil, environment["REFLEX_DATA_DIR"] == nil {
            overrides.dataDirectory = Demo.defaultDataDirectory
        }
        overrides.logLevel = logLevel
        overrides.logFormat = logFormat
        overrides.mqttListen = mqttListen
        overrides.mqttTLSListen = mqttTLSListen
        overrides.tlsCertificate = tlsCertificate
        overrides.tlsKey = tlsKey
        overrides.maxConnections = maxConnections
        overrides.maxPacketSize = maxPacketSize
        overrides.maxInflight = maxInflight
        overrides.maxQueuedMessages = maxQueuedMessages
        overrides.maxRetainedPerClient = maxRetainedPerClient
        overrides.maxRetainedBytesPerClient = maxRetainedBytesPerClient
        overrides.maxRetainedBytes = maxRetainedBytes
        overrides.allowAnonymous = allowAnonymous ? "true" : nil
        overrides.httpListen = httpListen
        overrides.httpHeaderTimeout = httpHeaderTimeout
        overrides.httpBodyTimeout = httpBodyTimeout
        overrides.httpIdleTimeout = httpIdleTimeout
        overrides.httpMaxConnections = httpMaxConnections
        overrides.httpMetricsPublic = httpMetricsPublic ? "true" : nil
        overrides.rulesDirectory = rulesDirectory
        overrides.detectionEnabled = detectionEnabled
        overrides.detectionCheckpointInterval = detectionCheckpointInterval
        overrides.detectionMaxSeries = detectionMaxSeries
        overrides.detectionBufferSize = detectionBufferSize
        overrides.detectionMaxLag = detectionMaxLag
        overrides.maxSeriesPerDevice = maxSeriesPerDevice
        overrides.maxSeries = maxSeries
        overrides.maxNewSeriesPerMinute = maxNewSeriesPerMinute
        overrides.maxNewSeriesPerMinutePerNode = maxNewSeriesPerMinutePerNode

        var configuration: NodeConfiguration
        do {
            configuration = try NodeConfiguration.load(
                configFile: configFile,
                environment: environment,
                overrides: overrides
            )
        } catch {
            let problems = error.message.split(separator: "\n")
            let text =
                problems.count == 1
                ? "reflex: configuration error: \(error.message)\n"
                : "reflex: configuration errors:\n" + problems.map { "  - \($0)\n" }.joined()
            FileHandle.standardError.write(Data(text.utf8))
            throw ExitCode(2)
        }

        let logConfiguration = configuration
        LoggingSystem.bootstrap { label in logConfiguration.makeLogHandler(label: label) }
        let logger = Logger(label: "reflex")
        do {
            var attach: @Sendable (NodeParts) -> [ServiceGroupConfiguration.ServiceConfiguration] = { _ in [] }
            if demo {
                var options = DemoOptions()
                options.devices = demoDevices
                options.speed = demoSpeed
                let prepared = try await Demo.prepare(&configuration, options: options, logger: logger)
                Node.writeToStandardOutput(prepared.banner)
                attach = prepared.services
            }
            // One registry for the process: the node's own metrics and any library's swift-metrics.
            let metrics = NodeMetrics()
            metrics.bootstrapMetricsSystem()
            try await Node(configuration: configuration, logger: logger, attach: attach, metrics: metrics).run()
        } catch let error as StoreBackendError {
            // A wrong or unreachable store is a configuration problem, like a bad flag.
            FileHandle.standardError.write(Data("reflex: \(error)\n".utf8))
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("reflex: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
