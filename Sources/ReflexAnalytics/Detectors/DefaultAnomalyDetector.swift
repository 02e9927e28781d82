import Foundation
public import ReflexCore

/// The detector every series gets unless configured otherwise: seven robust deviation channels
/// (spike, level, drift, variance, seasonal, seasonal spike, persistence) whose deviations are
/// scored against their own decayed records, with suppression after an alarm.
///
/// How a sample is scored, in order:
/// 1. **Channels.** The value feeds four ``DeviationChannel``s that smooth it at different
///    speeds: *spike* (the raw value), *level* (a ~4-sample EWMA), *drift* (a ~48-sample EWMA),
///    and *variance* (a ~60-sample EWMA of log |xₜ − xₜ₋₁|, which moves when the noise grows or
///    the signal goes flat). Two more watch the residual against a ``SeasonalProfile`` (daily
///    by default, or `settings.seasonality`): *seasonal* (a ~6-sample EWMA of it) and
///    *seasonal-spike* (raw). The seventh, *persistence*, averages the log of the strongest
///    instantaneous deviation (spike, variance, seasonal spike) over ~100 samples, like the
///    anomaly likelihood of Ahmad et al. 2017: a run of moderate surprises is itself a surprise.
///    Each channel gives a deviation z in robust standard deviations against its own slow model
///    (horizon ~2000 samples); persistence counts only an excess.
/// 2. **Novelty.** Each |z| is divided by the larger of the channel's decayed record of |z|
///    (half-life 10 000 samples, about a month at 5-minute sampling) and an absolute floor
///    (3.75 robust σ). The largest ratio r, times the sensitivity gain, wins; r ≥ 1 means "more
///    extreme than anything this channel has seen lately, and far from normal in absolute
///    terms" — an alarm. Heavy-tailed series thereby calibrate themselves: their big swings raise
///    the record instead of firing again and again.
/// 3. **Score.** r maps monotonically to [0, 1] with r = 1 at exactly 0.5 (the live system's
///    "anomalous" threshold): `0.5·r⁴` below, `1 − 0.5·e^(−3(r−1))` above.
/// 4. **Suppression.** After an alarm, scores are multiplied by 0.4 for 100 samples unless the
///    novelty is more than twice that of the alarm: one event raises one alarm, not a burst, as
///    operators want and as NAB rewards (Lavin & Ahmad 2015 count only the first detection in a
///    window; later ones outside it are false positives), while a much bigger event still
///    gets through.
///
/// The first 40 samples only learn (score 0, component `"warmup"`). Non-finite values are
/// ignored (score 0, component `"invalid"`) and leave the state untouched; values are clamped to
/// ±1e150 so that squares cannot overflow. Timestamps only place a sample in its seasonal bin,
/// so gaps, repeats and regressions are harmless.
///
/// `settings.sensitivity` in [0, 1] multiplies every novelty ratio by the gain 2^(2s − 1):
/// 0.5 → 1 (the NAB-measured operating point); 1 → 2 (alarms at half the record and 1.9σ);
/// 0 → 0.5 (alarms only at twice the record and 7.5σ). `settings.seasonality` sets the period of
/// the seasonal profile (default one day).
///
/// - Complexity: O(1) time per sample (a few dozen floating-point operations per channel, two
///   logarithms, one exponential); constant memory: the struct plus 384 bytes of seasonal bins
///   (see ``memoryFootprint``).
/// - Sources: see ``DeviationChannel`` (EWMA control charts, Roberts 1959; robust scale, Geary
///   1935; record as a conformal threshold, Vovk et al. 2005) and ``SeasonalProfile``
///   (Winters 1960). The multi-scale design follows the EWMA control schemes of J. M. Lucas and
///   M. S. Saccucci, "Exponentially weighted moving average control schemes", Technometrics
///   32(1), 1990; the persistence channel follows the anomaly likelihood of S. Ahmad, A. Lavin,
///   S. Purdy and Z. Agha, "Unsupervised real-time anomaly detection for streaming data",
///   Neurocomputing 262, 2017; suppression after an alarm follows the Numenta Anomaly
///   Benchmark scoring, A. Lavin and S. Ahmad, "Evaluating real-time anomaly detection
///   algorithms — the Numenta Anomaly Benchmark", IEEE ICMLA 2015.
public struct DefaultAnomalyDetector: AnomalyDetector {
    /// How the detector is set up; read at every sample, so changing it takes effect at once.
    public var settings: DetectorSettings

    private var count: Int64 = 0
    private var lastValue: Double = 0
    private var absoluteStepMean: Double = 0
    private var samplesSinceAlarm: Int64 = .max
    private var alarmNovelty: Double = 0
    private var spike = DeviationChannel()
    private var level = DeviationChannel()
    private var drift = DeviationChannel()
    private var variance = DeviationChannel()
    private var seasonalLevel = DeviationChannel()
    private var seasonalSpike = DeviationChannel()
    private var persistence = DeviationChannel()
    private var profile: SeasonalProfile

    /// A detector that has learnt nothing yet.
    public init(settings: DetectorSettings = DetectorSettings()) {
        self.settings = settings
        self.profile = SeasonalProfile(periodMillis: Self.periodMillis(settings.seasonality))
    }

    // MARK: - Constants (chosen once, see docs/detection.md; not fitted per series)

    static let warmupSamples: Int64 = 40
    static let longHorizon = 2000.0
    static let levelSpan = 4.0
    static let driftSpan = 48.0
    static let varianceSpan = 60.0
    static let seasonalSpan = 6.0
    static let recordHalfLife = 10_000.0
    static let baseFloor = 3.75
    static let suppressionSamples: Int64 = 100
    static let suppressionFactor = 0.4
    static let escalation = 2.0
    static let steepness = 3.0
    static let persistenceSpan = 100.0
    static let valueLimit = 1e150

    /// The component names, in the order the channels are compared.
    enum Component: Int, CaseIterable {
        case spike, level, drift, variance, seasonal, seasonalSpike, persistence

        var name: String {
            switch self {
            case .spike: "spike"
            case .level: "level"
            case .drift: "drift"
            case .variance: "variance"
            case .seasonal: "seasonal"
            case .seasonalSpike: "seasonal-spike"
            case .persistence: "persistence"
            }
        }
    }

    static func periodMillis(_ seasonality: Duration?) -> Int64 {
        guard let seasonality, seasonality > .zero else { return 86_400_000 }
        let (seconds, attoseconds) = seasonality.components
        return max(1, seconds.multipliedReportingOverflow(by: 1000).partialValue + attoseconds / 1_000_000_000_000_000)
    }

    // MARK: - Scoring

    public mutating func observe(_ value: Double, at timestamp: Int64) -> AnomalyScore {
        guard settings.isEnabled else { return Self.quiet("disabled") }
        guard value.isFinite else { return Self.quiet("invalid") }
        let value = min(max(value, -Self.valueLimit), Self.valueLimit)
        count += 1
        let isFirst = count == 1
        let rate = max(1 / Double(count), 1 / Self.longHorizon)

        // Variance channel input: log absolute step, with an epsilon relative to the typical
        // step so that a flat line gives a large but finite negative value.
        let step = isFirst ? 0 : abs(value - lastValue)
        absoluteStepMean = isFirst ? 0 : absoluteStepMean + rate * (step - absoluteStepMean)
        let epsilon = 0.01 * absoluteStepMean + 1e-9 * (abs(value) + 1)
        let logStep = log(step + epsilon)
        lastValue = value

        let bin = profile.bin(at: timestamp)
        let seasonalExpectation = profile.expected(inBin: bin) ?? spike.mean
        let residual = isFirst ? 0 : value - seasonalExpectation
        profile.learn(value, inBin: bin)

        var deviations: (Double, Double, Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0, 0, 0)
        deviations.0 = spike.observe(value, smoothing: 1, rate: rate, isFirst: isFirst)
        deviations.1 = level.observe(value, smoothing: 2 / (Self.levelSpan + 1), rate: rate, isFirst: isFirst)
        deviations.2 = drift.observe(value, smoothing: 2 / (Self.driftSpan + 1), rate: rate, isFirst: isFirst)
        deviations.3 = variance.observe(
            logStep,
            smoothing: 2 / (Self.varianceSpan + 1),
            rate: rate,
            isFirst: count <= 2
        )
        deviations.4 = seasonalLevel.observe(
            residual,
            smoothing: 2 / (Self.seasonalSpan + 1),
            rate: rate,
            isFirst: isFirst
        )
        deviations.5 = seasonalSpike.observe(residual, smoothing: 1, rate: rate, isFirst: isFirst)
        // Persistence: the log of the strongest instantaneous deviation, averaged over ~100
        // samples, against its own normal; only an excess counts.
        let evidence = log(1 + max(abs(deviations.0), abs(deviations.3), abs(deviations.5)))
        deviations.6 = persistence.observe(
            evidence,
            smoothing: 2 / (Self.persistenceSpan + 1),
            rate: rate,
            isFirst: isFirst
        )
        deviations.6 = max(0, deviations.6)

        let floor = Self.baseFloor
        let sensitivity = settings.sensitivity.isFinite ? min(1, max(0, settings.sensitivity)) : 0.5
        let gain = exp2(2 * sensitivity - 1)
        func deviation(of component: Component) -> Double {
            switch component {
            case .spike: deviations.0
            case .level: deviations.1
            case .drift: deviations.2
            case .variance: deviations.3
            case .seasonal: deviations.4
            case .seasonalSpike: deviations.5
            case .persistence: deviations.6
            }
        }
        var novelty = 0.0
        var winner = Component.spike
        for component in Component.allCases {
            let ratio = gain * channel(component).novelty(of: deviation(of: component), floor: floor)
            if ratio > novelty {
                novelty = ratio
                winner = component
            }
        }

        let isWarm = count > Self.warmupSamples
        if isWarm {
            let decay = exp2(-1 / Self.recordHalfLife)
            spike.remember(deviations.0, decay: decay)
            level.remember(deviations.1, decay: decay)
            drift.remember(deviations.2, decay: decay)
            variance.remember(deviations.3, decay: decay)
            seasonalLevel.remember(deviations.4, decay: decay)
            persistence.remember(deviations.6, decay: decay)
            seasonalSpike.remember(deviations.5, decay: decay)
        }

        var score = isWarm ? Self.score(novelty: novelty) : 0
        if samplesSinceAlarm < Self.suppressionSamples && novelty <= Self.escalation * alarmNovelty {
            samplesSinceAlarm += 1
            score *= Self.suppressionFactor
        } else if score >= 0.5 {
            samplesSinceAlarm = 0
            alarmNovelty = novelty
        }
        return verdict(
            score: score,
            component: isWarm ? winner : nil,
            deviation: deviation(of: winner),
            seasonalExpectation: seasonalExpectation,
            floor: floor,
            gain: gain
        )
    }

    /// Maps the novelty ratio r to [0, 1], r = 1 to 0.5.
    static func score(novelty: Double) -> Double {
        guard novelty.isFinite else { return novelty > 0 ? 1 : 0 }
        if novelty < 1 {
            let square = novelty * novelty
            return 0.5 * square * square
        }
        return 1 - 0.5 * exp(-steepness * (novelty - 1))
    }

    private func channel(_ component: Component) -> DeviationChannel {
        switch component {
        case .spike: spike
        case .level: level
        case .drift: drift
        case .variance: variance
        case .seasonal: seasonalLevel
        case .seasonalSpike: seasonalSpike
        case .persistence: persistence
        }
    }

    private func verdict(
        score: Double,
        component: Component?,
        deviation: Double,
        seasonalExpectation: Double,
        floor: Double,
        gain: Double
    ) -> AnomalyScore {
        let isSeasonal = component == .seasonal || component == .seasonalSpike
        let expected = isSeasonal ? seasonalExpectation : spike.mean
        let halfWidth = floor / gain * (isSeasonal ? seasonalSpike.scale : spike.scale)
        let clamped = score.isFinite ? min(1, max(0, score)) : 0
        return AnomalyScore(
            score: clamped,
            explanation: AnomalyExplanation(
                expected: expected,
                lower: expected - halfWidth,
                upper: expected + halfWidth,
                component: component?.name ?? "warmup",
                deviation: deviation.isFinite ? deviation : (deviation > 0 ? .greatestFiniteMagnitude : 0)
            )
        )
    }

    private static func quiet(_ component: String) -> AnomalyScore {
        AnomalyScore(
            score: 0,
            explanation: AnomalyExplanation(expected: nil, lower: nil, upper: nil, component: component, deviation: 0)
        )
    }

    // MARK: - Cost

    /// Bytes this detector occupies: the struct itself plus the heap it owns (the seasonal bins'
    /// storage and the array header).
    public var memoryFootprint: Int {
        MemoryLayout<Self>.size + profile.heapBytes + 32
    }
}
