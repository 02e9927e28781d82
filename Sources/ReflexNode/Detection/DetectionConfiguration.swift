public import ReflexAnalytics
public import ReflexCore

/// Live detection: whether it runs, how often it checkpoints, and the detector settings and
/// data-quality rules of each device type and metric.
///
/// Keys (YAML, environment variable, flag; default):
/// - `detection.enabled`, `REFLEX_DETECTION_ENABLED`, `--detection-enabled`; true
/// - `detection.checkpointInterval`, `REFLEX_DETECTION_CHECKPOINT_INTERVAL`,
///   `--detection-checkpoint-interval`; 60 s (1 s to 1 d)
/// - `detection.checkInterval` (file only): how often silence is checked; 5 s
/// - `detection.defaults.sensitivity`, `REFLEX_DETECTION_SENSITIVITY`; 0.5 (0 to 1)
/// - `detection.defaults.seasonality` (file only): a duration such as `1d`; none
/// - `detection.maxSeries`, `REFLEX_DETECTION_MAX_SERIES`, `--detection-max-series`: most series
///   with a live detector; default the node's series limit `ingest.maxSeries` (100,000). Past it a
///   new series is stored but not scored (no detector, no `anomaly:` score series, no data-quality
///   monitor), counted in ``DetectionStatus/Counters/seriesUntracked`` and logged once.
/// - `detection.bufferSize`, `REFLEX_DETECTION_BUFFER_SIZE`, `--detection-buffer-size`: committed batches waiting in memory
///   for detection; 100,000 (1 to 10,000,000). Past it detection catches up from the store.
/// - `detection.maxLag`, `REFLEX_DETECTION_MAX_LAG`, `--detection-max-lag`: how far behind ingest (a duration) detection
///   may fall before `/health` says `degraded`; 60 s (1 s to 1 d).
/// - `detection.rules` (file only): a list of rules, each with `deviceType` and/or `metric` and any
///   of `enabled`, `sensitivity`, `seasonality`, `range: [min, max]`, e.g.
///   `{deviceType: pump, metric: vibration, sensitivity: 0.7, seasonality: 1d, range: [0, 50]}`.
///
/// A series takes the defaults, then the rules that match it, least specific first (a rule
/// naming only a device type, then one naming only a metric, then one naming both); within the
/// same specificity, later rules win. A rule sets only the keys it names.
public struct DetectionConfiguration: Sendable, Equatable {
    /// Whether the detection service runs at all.
    public var isEnabled = true
    /// How often the state of changed series is checkpointed into the store.
    public var checkpointInterval: Duration = .seconds(60)
    /// How often the time-driven data-quality checks (silence) run.
    public var checkInterval: Duration = .seconds(5)
    /// Settings for every series before rules apply.
    public var defaults = DetectionRule()
    /// Per device type and metric overrides.
    public var rules: [DetectionRule] = []
    /// How many committed batches may wait in memory for detection (the live fast path); past it
    /// new ones are left in the commit log, and detection reads them back from the store.
    public var bufferSize = 100_000
    /// How far behind ingest detection may fall before `/health` reports it degraded.
    public var maxLag: Duration = .seconds(60)
    /// Most series with a live detector and data-quality monitor (memory is about 2 KiB each,
    /// plus its checkpoint); new series past it are not scored.
    public var maxSeries = 100_000

    /// The defaults: see the type's documentation.
    public init() {}

    /// The detector settings and data-quality rules of a series.
    /// - Parameters:
    ///   - deviceType: the device's registered type, nil if it is not registered.
    ///   - metric: the series' metric.
    public func resolve(deviceType: String?, metric: MetricName) -> (DetectorSettings, DataQualityRules) {
        var merged = defaults
        let matching = rules.enumerated()
            .filter { _, rule in
                (rule.deviceType == nil || rule.deviceType == deviceType)
                    && (rule.metric == nil || rule.metric == metric)
                    && (rule.deviceType != nil || rule.metric != nil)
            }
            .sorted { lhs, rhs in
                (lhs.element.specificity, lhs.offset) < (rhs.element.specificity, rhs.offset)
            }
        for (_, rule) in matching { merged.apply(rule) }
        let settings = DetectorSettings(
            isEnabled: merged.isEnabled ?? true,
            sensitivity: merged.sensitivity ?? 0.5,
            seasonality: merged.seasonality
        )
        return (settings, DataQualityRules(minimum: merged.minimum, maximum: merged.maximum))
    }
}

/// Detection settings for the series of one device type and/or metric; nil fields are not set.
public struct DetectionRule: Sendable, Equatable {
    /// The device type the rule applies to (any when nil).
    public var deviceType: String?
    /// The metric the rule applies to (any when nil).
    public var metric: MetricName?
    public var isEnabled: Bool?
    /// In [0, 1].
    public var sensitivity: Double?
    public var seasonality: Duration?
    /// The physical range: values outside are `outOfRange` data-quality events.
    public var minimum: Double?
    public var maximum: Double?

    public init(
        deviceType: String? = nil,
        metric: MetricName? = nil,
        isEnabled: Bool? = nil,
        sensitivity: Double? = nil,
        seasonality: Duration? = nil,
        minimum: Double? = nil,
        maximum: Double? = nil
    ) {
        self.deviceType = deviceType
        self.metric = metric
        self.isEnabled = isEnabled
        self.sensitivity = sensitivity
        self.seasonality = seasonality
        self.minimum = minimum
        self.maximum = maximum
    }

    var specificity: Int { (metric == nil ? 0 : 2) + (deviceType == nil ? 0 : 1) }

    mutating func apply(_ rule: DetectionRule) {
        isEnabled = rule.isEnabled ?? isEnabled
        sensitivity = rule.sensitivity ?? sensitivity
        seasonality = rule.seasonality ?? seasonality
        if rule.minimum != nil || rule.maximum != nil {
            minimum = rule.minimum
            maximum = rule.maximum
        }
    }
}
