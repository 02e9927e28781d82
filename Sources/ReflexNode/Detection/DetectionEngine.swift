import ReflexAnalytics
import ReflexCore
import ReflexStore

/// The pure part of live detection: one detector and one data-quality monitor per numeric
/// series, fed with committed batches; it returns what to store and publish, and does no I/O.
///
/// Series whose metric starts with ``scorePrefix`` are the scores themselves and are skipped.
/// At most ``DetectionConfiguration/maxSeries`` series are tracked: samples of further new
/// series are not scored and are counted in ``samplesUntracked`` (the series already tracked
/// keep their detectors; nothing is evicted, so no detector loses what it learnt).
/// - Complexity: O(1) per sample (a dictionary lookup and the detector's own cost).
struct DetectionEngine: Sendable {
    /// Score series are named `anomaly:<metric>`.
    static let scorePrefix = "anomaly:"

    /// What one batch produced.
    struct Output: Sendable {
        /// The scores as samples of the `anomaly:<metric>` series of the batch's device.
        var scores: [Sample] = []
        /// The band rows of the scored samples.
        var points: [(series: SeriesKey, point: AnomalyPoint)] = []
        /// Anomaly and data-quality events, in order.
        var events: [AnalyticsEvent] = []
    }

    let configuration: DetectionConfiguration
    private(set) var series: [SeriesKey: SeriesDetection] = [:]
    /// Series changed since the last checkpoint.
    private var dirty: Set<SeriesKey> = []
    private var scoreNames: [MetricName: MetricName] = [:]
    /// Samples scored since start.
    private(set) var samplesScored = 0
    /// Checkpointed states discarded at restore because the configuration or format changed.
    private(set) var statesReset = 0
    /// Samples of series not tracked because ``DetectionConfiguration/maxSeries`` was reached.
    private(set) var samplesUntracked = 0
    /// The last commit-log entry processed: checkpointed with the states, so that both always
    /// describe the same point of the log.
    var cursor = DetectionCursor()

    /// Whether a new series would get a detector now.
    var hasRoom: Bool { series.count < configuration.maxSeries }

    init(configuration: DetectionConfiguration) {
        self.configuration = configuration
    }

    /// Whether samples of `metric` are scored (score series are not).
    static func isScored(_ metric: MetricName) -> Bool {
        !metric.rawValue.hasPrefix(scorePrefix)
    }

    /// Whether the engine already tracks every series of `batch`.
    func knowsAllSeries(of batch: TelemetryBatch) -> Bool {
        batch.samples.allSatisfy {
            !Self.isScored($0.metric) || series[SeriesKey(device: batch.device, metric: $0.metric)] != nil
        }
    }

    /// Adopts a checkpointed state unless it was built with other settings than the current
    /// configuration gives (then the series starts afresh, and the reset is counted).
    mutating func restore(_ state: SeriesDetection, for key: SeriesKey, deviceType: String?) {
        let (settings, rules) = configuration.resolve(deviceType: deviceType, metric: key.metric)
        guard state.version == SeriesDetection.currentVersion, state.settings == settings, state.qualityRules == rules,
            state.monitor.series == key, series[key] != nil || hasRoom
        else {
            statesReset += 1
            return
        }
        series[key] = state
    }

    /// Scores every numeric sample of `batch` and checks its data quality.
    /// - Parameters:
    ///   - deviceType: the device's registered type (nil if unregistered), for new series.
    ///   - receivedAt: when the batch was committed, ms since the epoch (for silence).
    mutating func process(_ batch: TelemetryBatch, deviceType: String?, receivedAt: Int64) -> Output {
        var output = Output()
        for sample in batch.samples where Self.isScored(sample.metric) {
            let key = SeriesKey(device: batch.device, metric: sample.metric)
            var state: SeriesDetection
            if let known = series[key] {
                state = known
            } else if !hasRoom {
                samplesUntracked += 1
                continue
            } else {
                let (settings, rules) = configuration.resolve(deviceType: deviceType, metric: sample.metric)
                state = SeriesDetection(series: key, settings: settings, qualityRules: rules)
            }
            let quality = state.monitor.observe(sample.value, at: sample.timestamp, receivedAt: receivedAt)
            state.track(quality)
            if state.settings.isEnabled {
                let verdict = state.detector.observe(sample.value, at: sample.timestamp)
                let event = AnomalyEvent(
                    series: key,
                    timestamp: sample.timestamp,
                    value: sample.value,
                    anomaly: verdict
                )
                if (state.latest?.timestamp ?? .min) <= sample.timestamp { state.latest = event }
                if let name = scoreName(sample.metric) {
                    output.scores.append(Sample(metric: name, timestamp: sample.timestamp, value: verdict.score))
                }
                output.points.append(
                    (
                        key,
                        AnomalyPoint(
                            timestamp: sample.timestamp,
                            value: sample.value,
                            score: verdict.score,
                            expected: verdict.explanation.expected.flatMap(Self.finite),
                            lower: verdict.explanation.lower.flatMap(Self.finite),
                            upper: verdict.explanation.upper.flatMap(Self.finite)
                        )
                    )
                )
                output.events.append(.anomaly(event))
                samplesScored += 1
            }
            output.events += quality.map { .dataQuality($0) }
            series[key] = state
            dirty.insert(key)
        }
        return output
    }

    /// Processes the commit-log entry `entry` unless the cursor is already past it (nil then),
    /// and moves the cursor to it.
    mutating func process(_ entry: CommittedBatch, deviceType: String?) -> Output? {
        guard cursor.isPending(entry.sequence) else { return nil }
        cursor.advance(to: entry.sequence)
        return process(entry.batch, deviceType: deviceType, receivedAt: entry.committedAt)
    }

    /// Runs the time-driven data-quality checks (silence) of every series.
    mutating func check(now: Int64) -> [AnalyticsEvent] {
        var events: [AnalyticsEvent] = []
        for key in series.keys {
            guard var state = series[key] else { continue }
            let found = state.monitor.check(now: now)
            guard !found.isEmpty else { continue }
            state.track(found)
            series[key] = state
            dirty.insert(key)
            events += found.map { .dataQuality($0) }
        }
        return events
    }

    /// The states changed since the last call (all of them with `all`), and forgets they changed.
    mutating func takeCheckpoint(all: Bool = false) -> [SeriesKey: SeriesDetection] {
        let keys = all ? Set(series.keys) : dirty
        dirty = []
        var states: [SeriesKey: SeriesDetection] = [:]
        for key in keys { states[key] = series[key] }
        return states
    }

    /// Marks series as changed again (after a failed checkpoint).
    mutating func markDirty(_ keys: some Sequence<SeriesKey>) {
        dirty.formUnion(keys)
    }

    private mutating func scoreName(_ metric: MetricName) -> MetricName? {
        if let name = scoreNames[metric] { return name }
        // `anomaly:` + a valid metric is valid unless it gets too long (over 128 bytes); then
        // the score series keeps a truncated name.
        let full = Self.scorePrefix + metric.rawValue
        let name = (try? MetricName(validating: full)) ?? (try? MetricName(validating: String(full.prefix(128))))
        scoreNames[metric] = name
        return name
    }

    private static func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
}
