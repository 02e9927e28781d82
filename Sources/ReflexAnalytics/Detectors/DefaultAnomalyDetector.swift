import Foundation
public import ReflexCore

/// The detector every series gets unless configured otherwise: six robust deviation channels
/// (drift, variance, burst, seasonal, seasonal spike, persistence) and a raw-unit range test,
/// each scored against its own decayed record, with suppression after an alarm.
///
/// How a sample is scored, in order:
/// 1. **Channels.** The value feeds ``DeviationChannel``s that smooth it at different speeds:
///    *drift* (a ~48-sample EWMA) and *variance* (a ~60-sample EWMA of log |xₜ − xₜ₋₁|, which
///    moves when the noise grows or the signal goes flat). *Burst* is a ~6-sample EWMA of the
///    same log steps, counting only an increase: the log-variance ratio of the latest few steps
///    against the long model, the form of a change-point test (Page 1954), which sees a sudden
///    burst of noise or oscillation within 2–3 samples where *variance* needs dozens (only the
///    upward side: a short run of small steps is ordinary, and *variance* still catches a line
///    that stays flat). Two more watch the residual against a ``SeasonalProfile`` (daily by
///    default, or `settings.seasonality`): *seasonal* (a ~6-sample EWMA of it) and
///    *seasonal-spike* (raw). *Persistence* averages the log of the strongest instantaneous
///    deviation (raw value, variance, seasonal spike) over ~100 samples, like the anomaly
///    likelihood of Ahmad et al. 2017: a run of moderate surprises is itself a surprise. Each
///    channel gives a deviation z in robust standard deviations against its own slow model
///    (horizon ~2000 samples); persistence and burst count only an excess. A baseline channel
///    on the raw value feeds persistence, the range test and the explanation's band but does
///    not raise alarms itself: the seasonal-spike residual sees every spike it would (against a
///    better forecast), and each extra channel compared with its own record is one more chance
///    of a false alarm (on the NAB development subset the raw *spike* and a ~4-sample *level*
///    channel added false alarms and no detection; docs/detection.md).
/// 2. **Novelty.** Each |z| is divided by the larger of the channel's decayed record of |z|
///    (half-life 10 000 samples, about a month at 5-minute sampling, and never less than a week
///    of samples at the learnt sampling interval: at 1 Hz 10 000 samples would be under three
///    hours) and an absolute floor (3.75 robust σ). The largest ratio r, times the sensitivity
///    gain, wins; r ≥ 1 means "more extreme than anything this channel has seen lately, and far
///    from normal in absolute terms" — an alarm. Heavy-tailed series thereby calibrate themselves: their big swings raise
///    the record instead of firing again and again. *Range* is the same test in raw units
///    (``ExcursionRecord``): the distance from the usual level against 1.5 times the decayed
///    largest earlier distance, counted only when the value is also beyond the floor in robust
///    units. It sees what σ units hide after a long flat stretch shrank the spread: early bursts
///    off the flat line then measure thousands of σ, and a later burst twice as big in bytes
///    never reaches their records.
/// 3. **Score.** r maps monotonically to [0, 1] with r = 1 at exactly 0.5 (the live system's
///    "anomalous" threshold): `0.5·r⁴` below, `1 − 0.5·e^(−3(r−1))` above.
/// 4. **Suppression.** After an alarm, scores are multiplied by 0.4 for 100 samples unless the
///    novelty is more than twice that of the alarm: one event raises one alarm, not a burst, as
///    operators want and as NAB rewards (Lavin & Ahmad 2015 count only the first detection in a
///    window; later ones outside it are false positives), while a much bigger event still
///    gets through.
/// 5. **Recurrence veto.** A new alarm is dropped (its score multiplied by 0.4) when the latest
///    16 values repeat a stretch that ended 50 to 240 samples earlier to within 5 % of their
///    deviation from the usual level (``RecentValues``, a nearest-neighbour test in the manner
///    of KNN-CAD, Burnaev & Ishimtsev 2016): an exact repeat of something the series just did is
///    not news, however its deviation compares with the record.
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
///   logarithms, three exponentials or powers: the gain, the record decay and the profile's
///   rate), plus a 256 × 16 nearest-neighbour scan when an alarm is about
///   to be raised; constant memory: the struct plus 384 bytes of seasonal bins and 2 KB of recent
///   values (see ``memoryFootprint``).
/// - Sources: see ``DeviationChannel`` (EWMA control charts, Roberts 1959; robust scale, Geary
///   1935; record as a conformal threshold, Vovk et al. 2005), ``ExcursionRecord`` and
///   ``SeasonalProfile`` (Winters 1960). The burst channel is a one-sided change-point statistic
///   on the log step in the sense of E. S. Page, "Continuous inspection schemes", Biometrika
///   41(1/2), 1954. The multi-scale design follows the EWMA control schemes of J. M. Lucas and
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
    /// The raw value against its slow model: feeds persistence and the explanation, not alarms.
    private var spike = DeviationChannel()
    private var drift = DeviationChannel()
    private var variance = DeviationChannel()
    private var seasonalLevel = DeviationChannel()
    private var seasonalSpike = DeviationChannel()
    private var persistence = DeviationChannel()
    private var burst = DeviationChannel()
    private var excursions = ExcursionRecord()
    /// Until this many samples, burst and range learn without raising alarms: set when the state
    /// was restored from a checkpoint written before they existed (see `init(from:)`); 0 for a
    /// detector that has had them from its first sample.
    private var newComponentsLearnUntil: Int64 = 0
    private var profile: SeasonalProfile
    private var recent = RecentValues(capacity: Self.recentCapacity)

    /// A detector that has learnt nothing yet.
    public init(settings: DetectorSettings = DetectorSettings()) {
        self.settings = settings
        self.profile = SeasonalProfile(periodMillis: Self.periodMillis(settings.seasonality))
    }

    // MARK: - Checkpoints from earlier versions

    /// Restores a checkpoint, including one written before the burst channel and the range test
    /// existed: then burst starts from the variance channel's model of the same log steps (same
    /// centre; twice the spread, about what a 6-sample average of them has next to a 60-sample
    /// one, 0.9–3.3× on the NAB series), the range record starts empty, and both learn for
    /// ``upgradeLearningSamples`` samples before they may raise an alarm. Everything the older
    /// version learnt (the other channels, their records, the seasonal profile) carries on, so
    /// an upgrade does not send every series back to its warm-up.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        settings = try container.decode(DetectorSettings.self, forKey: .settings)
        count = try container.decode(Int64.self, forKey: .count)
        lastValue = try container.decode(Double.self, forKey: .lastValue)
        absoluteStepMean = try container.decode(Double.self, forKey: .absoluteStepMean)
        samplesSinceAlarm = try container.decode(Int64.self, forKey: .samplesSinceAlarm)
        alarmNovelty = try container.decode(Double.self, forKey: .alarmNovelty)
        spike = try container.decode(DeviationChannel.self, forKey: .spike)
        drift = try container.decode(DeviationChannel.self, forKey: .drift)
        variance = try container.decode(DeviationChannel.self, forKey: .variance)
        seasonalLevel = try container.decode(DeviationChannel.self, forKey: .seasonalLevel)
        seasonalSpike = try container.decode(DeviationChannel.self, forKey: .seasonalSpike)
        persistence = try container.decode(DeviationChannel.self, forKey: .persistence)
        profile = try container.decode(SeasonalProfile.self, forKey: .profile)
        recent = try container.decode(RecentValues.self, forKey: .recent)
        if let burst = try container.decodeIfPresent(DeviationChannel.self, forKey: .burst),
            let excursions = try container.decodeIfPresent(ExcursionRecord.self, forKey: .excursions)
        {
            self.burst = burst
            self.excursions = excursions
            newComponentsLearnUntil = try container.decodeIfPresent(Int64.self, forKey: .newComponentsLearnUntil) ?? 0
        } else {
            burst = DeviationChannel(seededFrom: variance, spreadFactor: 2)
            excursions = ExcursionRecord()
            newComponentsLearnUntil = count + Self.upgradeLearningSamples
        }
    }

    /// How long burst and range learn, silent, after an upgrade from a checkpoint without them.
    static let upgradeLearningSamples: Int64 = 1000

    // MARK: - Constants (chosen once, see docs/detection.md; not fitted per series)

    static let warmupSamples: Int64 = 40
    static let longHorizon = 2000.0
    static let driftSpan = 48.0
    static let varianceSpan = 60.0
    static let seasonalSpan = 6.0
    static let recordHalfLife = 10_000.0
    /// The shortest record half-life in time, whatever the sampling rate: one week.
    static let minimumRecordHalfLifeMillis = 7.0 * 86_400_000
    static let baseFloor = 3.75
    static let suppressionSamples: Int64 = 100
    static let suppressionFactor = 0.4
    static let escalation = 2.0
    static let steepness = 3.0
    static let persistenceSpan = 100.0
    static let burstSpan = 6.0
    static let excursionMargin = 1.5
    static let valueLimit = 1e150
    static let recentCapacity = 256
    static let recurrenceLength = 16
    static let recurrenceMinimumAge = 50
    static let recurrenceLimit = 0.05

    /// The components that can raise an alarm, in the order they are compared.
    enum Component: Int, CaseIterable {
        case drift, variance, seasonal, seasonalSpike, persistence, burst, range

        var name: String {
            switch self {
            case .drift: "drift"
            case .variance: "variance"
            case .seasonal: "seasonal"
            case .seasonalSpike: "seasonal-spike"
            case .persistence: "persistence"
            case .burst: "burst"
            case .range: "range"
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
        profile.learn(value, inBin: bin, at: timestamp)

        let excursion = isFirst ? 0 : abs(value - spike.mean)
        let spikeDeviation = spike.observe(value, smoothing: 1, rate: rate, isFirst: isFirst)
        var deviations: (Double, Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0, 0)
        deviations.0 = drift.observe(value, smoothing: 2 / (Self.driftSpan + 1), rate: rate, isFirst: isFirst)
        deviations.1 = variance.observe(
            logStep,
            smoothing: 2 / (Self.varianceSpan + 1),
            rate: rate,
            isFirst: count <= 2
        )
        deviations.2 = seasonalLevel.observe(
            residual,
            smoothing: 2 / (Self.seasonalSpan + 1),
            rate: rate,
            isFirst: isFirst
        )
        deviations.3 = seasonalSpike.observe(residual, smoothing: 1, rate: rate, isFirst: isFirst)
        // Persistence: the log of the strongest instantaneous deviation, averaged over ~100
        // samples, against its own normal; only an excess counts.
        let evidence = log(1 + max(abs(spikeDeviation), abs(deviations.1), abs(deviations.3)))
        deviations.4 = persistence.observe(
            evidence,
            smoothing: 2 / (Self.persistenceSpan + 1),
            rate: rate,
            isFirst: isFirst
        )
        deviations.4 = max(0, deviations.4)
        // Burst: the same log steps as variance, over the last ~6 samples; only an increase.
        deviations.5 = burst.observe(logStep, smoothing: 2 / (Self.burstSpan + 1), rate: rate, isFirst: count <= 2)
        deviations.5 = max(0, deviations.5)

        let floor = Self.baseFloor
        let sensitivity = settings.sensitivity.isFinite ? min(1, max(0, settings.sensitivity)) : 0.5
        let gain = exp2(2 * sensitivity - 1)
        let recordDecay = exp2(-1 / recordHalfLife)
        // Range: the excursion in raw units against the decayed largest one, counted only when
        // the value is also far from normal in robust units.
        let excursionRatio = excursions.observe(excursion, margin: Self.excursionMargin, decay: recordDecay)
        let newComponentsReady = count > newComponentsLearnUntil
        let rangeRatio = newComponentsReady && gain * abs(spikeDeviation) >= floor ? excursionRatio : 0
        func deviation(of component: Component) -> Double {
            switch component {
            case .drift: deviations.0
            case .variance: deviations.1
            case .seasonal: deviations.2
            case .seasonalSpike: deviations.3
            case .persistence: deviations.4
            case .burst: deviations.5
            case .range: spikeDeviation
            }
        }
        func ratio(of component: Component) -> Double {
            switch component {
            case .drift: drift.novelty(of: deviations.0, floor: floor)
            case .variance: variance.novelty(of: deviations.1, floor: floor)
            case .seasonal: seasonalLevel.novelty(of: deviations.2, floor: floor)
            case .seasonalSpike: seasonalSpike.novelty(of: deviations.3, floor: floor)
            case .persistence: persistence.novelty(of: deviations.4, floor: floor)
            case .burst: newComponentsReady ? burst.novelty(of: deviations.5, floor: floor) : 0
            case .range: rangeRatio
            }
        }
        var novelty = 0.0
        var winner = Component.drift
        for component in Component.allCases {
            let ratio = gain * ratio(of: component)
            if ratio > novelty {
                novelty = ratio
                winner = component
            }
        }

        let isWarm = count > Self.warmupSamples
        if isWarm {
            drift.remember(deviations.0, decay: recordDecay)
            variance.remember(deviations.1, decay: recordDecay)
            seasonalLevel.remember(deviations.2, decay: recordDecay)
            seasonalSpike.remember(deviations.3, decay: recordDecay)
            persistence.remember(deviations.4, decay: recordDecay)
            burst.remember(deviations.5, decay: recordDecay)
        }

        recent.append(value)
        var score = isWarm ? Self.score(novelty: novelty) : 0
        let isSuppressed = samplesSinceAlarm < Self.suppressionSamples && novelty <= Self.escalation * alarmNovelty
        if score >= 0.5 && !isSuppressed && isRecentRepeat() {
            score *= Self.suppressionFactor
        }
        if isSuppressed {
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

    /// Whether the latest stretch of values repeats, almost exactly, one from earlier in the
    /// recent past: then an alarm would only announce what the series already did (a periodic
    /// burst whose deviation creeps past the record as the spread estimate shrinks between
    /// bursts), so it is vetoed. The test is strict (within 5 % of the stretch's own deviation
    /// from the usual level), so noisy real-world repeats still alarm.
    private func isRecentRepeat() -> Bool {
        guard
            let recurrence = recent.recurrence(
                length: Self.recurrenceLength,
                minimumAge: Self.recurrenceMinimumAge,
                centre: spike.mean
            )
        else { return false }
        return recurrence < Self.recurrenceLimit
    }

    /// The records' half-life in samples: 10 000, or a week's worth of samples at the learnt
    /// sampling interval when that is more, so that at 1 Hz a deviation is still compared with
    /// the largest of the last week rather than of the last three hours.
    private var recordHalfLife: Double {
        let interval = profile.intervalMillis
        guard interval > 0 else { return Self.recordHalfLife }
        return max(Self.recordHalfLife, Self.minimumRecordHalfLifeMillis / interval)
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

    private func verdict(
        score: Double,
        component: Component?,
        deviation: Double,
        seasonalExpectation: Double,
        floor: Double,
        gain: Double
    ) -> AnomalyScore {
        // The band comes from whichever model fits the series better (the seasonal forecast when
        // its residuals are narrower than the spread around the plain level), not from the
        // component that won this sample, so that it does not jump from one sample to the next.
        let isSeasonal = seasonalSpike.scale <= spike.scale
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

    /// Bytes this detector occupies: the struct itself plus the heap it owns (the storage of the
    /// seasonal bins and of the recent values, and their two array headers).
    public var memoryFootprint: Int {
        MemoryLayout<Self>.size + profile.heapBytes + recent.heapBytes + 64
    }
}
