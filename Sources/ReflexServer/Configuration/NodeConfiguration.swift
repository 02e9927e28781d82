public import Logging
public import ReflexMQTT
public import ReflexNode
public import ReflexStore

/// Everything `reflex serve` needs to run a node. The defaults make `reflex serve` work with no
/// file, no environment and no flags: a broker on `0.0.0.0:1883`, data under `./reflex-data`.
///
/// Keys, as written in the YAML file (environment variable, `reflex serve` flag), with defaults:
/// - `dataDirectory` (`REFLEX_DATA_DIR`, `--data-dir`): where the node keeps its state, default
///   `./reflex-data`. A relative path is relative to the working directory of the process.
/// - `log.level` (`REFLEX_LOG_LEVEL`, `--log-level`): trace, debug, info, notice, warning, error or
///   critical; default info.
/// - `log.format` (`REFLEX_LOG_FORMAT`, `--log-format`): `text` or `json` (one object per line);
///   default text.
/// - `mqtt.allowAnonymous` (`REFLEX_ALLOW_ANONYMOUS`, `--allow-anonymous`): let clients without
///   credentials connect (development only); default false.
/// - `http.listen` (`REFLEX_HTTP_LISTEN`, `--http-listen`): the HTTP API's address, default
///   `0.0.0.0:8080`; `off` disables it.
/// - `automation.rulesDirectory` (`REFLEX_RULES_DIR`, `--rules-dir`), `automation.webhookTimeout`,
///   `automation.ackTimeout`: see ``AutomationConfiguration``.
/// - `detection.*`: live detection, see ``DetectionConfiguration`` (on by default).
/// - `mqtt.*`: the embedded broker, see ``ReflexMQTT/BrokerConfiguration`` and
///   ``NodeConfiguration/load(configFile:environment:overrides:)`` for the full list.
///
/// Precedence: flags > environment > YAML file > defaults.
public struct NodeConfiguration: Sendable, Equatable {
    /// How log lines are written to standard error.
    public enum LogFormat: String, Sendable, Equatable, CaseIterable {
        /// Human-readable lines (swift-log's `StreamLogHandler`).
        case text
        /// One JSON object per line (``JSONLogHandler``), for log shippers.
        case json
    }

    /// The data directory used when nothing else is configured.
    public static let defaultDataDirectory = "./reflex-data"

    /// Where the node keeps its state (MQTT sessions under `mqtt/`). Created at load time if missing.
    public var dataDirectory: String = NodeConfiguration.defaultDataDirectory
    /// The lowest level that is logged.
    /// Where the data is kept: SQLite files in ``dataDirectory`` (the default) or PostgreSQL.
    public var store: StoreLocation = .sqlite
    public var logLevel: Logger.Level = .info
    /// How log lines are formatted.
    public var logFormat: LogFormat = .text
    /// The embedded MQTT broker.
    public var mqtt: BrokerConfiguration = BrokerConfiguration()
    /// Whether MQTT clients without a user name may connect, and then publish and subscribe
    /// anywhere except `$SYS` (key `mqtt.allowAnonymous`, `REFLEX_ALLOW_ANONYMOUS`,
    /// `--allow-anonymous`; default false). A development mode: the node warns at startup.
    /// Devices with credentials are still checked and confined to `devices/{id}/`.
    public var allowAnonymous: Bool = false
    /// The HTTP API (key `http.listen`, `REFLEX_HTTP_LISTEN`, `--http-listen`; default
    /// `0.0.0.0:8080`, `off` disables it). See ``HTTPAPIConfiguration``.
    public var http: HTTPAPIConfiguration = HTTPAPIConfiguration()
    /// Rules, alarms, commands and the safety layer; see ``AutomationConfiguration``.
    public var automation: AutomationConfiguration = AutomationConfiguration()
    /// Live anomaly detection and data-quality monitoring (keys `detection.*`); see
    /// ``DetectionConfiguration``.
    public var detection: DetectionConfiguration = DetectionConfiguration()

    /// How many series devices may create (keys `ingest.maxSeriesPerDevice` (1,000),
    /// `ingest.maxSeries` (100,000), `ingest.maxNewSeriesPerMinute` (100)); see ``SeriesLimits``.
    public var seriesLimits: SeriesLimits = SeriesLimits()

    /// The defaults: see the type's documentation.
    public init() {}
}
