import Foundation
public import ReflexCore

/// Watches one series for data that is suspect whatever its values say: stuck (flatline),
/// outside its physical range, silent against its learned cadence, with timestamps going
/// backwards, or reporting at a suddenly different rate.
///
/// A value, like the detectors: feed every sample to ``observe(_:at:receivedAt:)`` and call
/// ``check(now:)`` periodically (silence can only be noticed by the passing of time). Each
/// condition emits one ``DataQualityEvent`` when it starts (`isActive: true`) and one when it
/// ends (`isActive: false`). The state is `Codable` for checkpoints; a restored monitor behaves
/// exactly like the original.
///
/// Cadence is learned as two exponentially weighted means of the logarithm of the interval
/// between in-order samples (a geometric mean, robust to the occasional long gap): a long-term
/// one (weight 1/50) and a recent one (weight 1/5). Rules and defaults: ``DataQualityRules``.
///
/// - Complexity: O(1) time per sample; constant memory (a few hundred bytes of state).
public struct DataQualityMonitor: Sendable, Hashable, Codable {
    /// The series the events are about.
    public let series: SeriesKey
    /// The thresholds.
    public var rules: DataQualityRules

    /// In-order samples seen (timestamp not before the newest one).
    private(set) var count = 0
    /// Newest sample timestamp seen.
    private var newestTimestamp: Int64?
    /// When the newest sample arrived (receive time, or the sample time when none was given).
    private var lastSeenAt: Int64?
    private var lastValue: Double?
    /// Where the current run of identical values started, and its length in samples.
    private var runStart: Int64 = 0
    private var runSamples = 0
    /// The longest run of identical values that ended without being a flatline, in ms.
    private var longestNormalRun: Int64 = 0
    /// Log of the interval in ms: long-term and recent weighted means; intervals counted.
    private var longLogInterval = 0.0
    private var recentLogInterval = 0.0
    private var intervals = 0
    private var isFlatline = false
    private var isOutOfRange = false
    private var isSilent = false
    private var isRegressed = false
    private var isRateChanged = false

    static let longWeight = 1.0 / 50
    static let recentWeight = 1.0 / 5

    /// - Parameters:
    ///   - series: the series the events will name.
    ///   - rules: the thresholds (default: ``DataQualityRules/init(minimum:maximum:minimumFlatlineMilliseconds:minimumFlatlineSamples:flatlineFactor:minimumSilenceMilliseconds:silenceFactor:rateChangeFactor:warmupSamples:)``).
    public init(series: SeriesKey, rules: DataQualityRules = DataQualityRules()) {
        self.series = series
        self.rules = rules
    }

    /// The conditions active now.
    public var activeKinds: [DataQualityEvent.Kind] {
        var kinds: [DataQualityEvent.Kind] = []
        if isFlatline { kinds.append(.flatline) }
        if isOutOfRange { kinds.append(.outOfRange) }
        if isSilent { kinds.append(.silence) }
        if isRegressed { kinds.append(.timestampRegression) }
        if isRateChanged { kinds.append(.rateChange) }
        return kinds
    }

    /// The learned typical interval between samples in ms, once there is one.
    public var typicalInterval: Double? {
        intervals > 0 ? exp(longLogInterval) : nil
    }

    // MARK: - Samples

    /// Checks one sample and learns from it.
    /// - Parameters:
    ///   - value: the sample's value.
    ///   - timestamp: the sample's timestamp, ms since the epoch.
    ///   - receivedAt: when it arrived (ms since the epoch), for silence; default `timestamp`.
    /// - Returns: the conditions that started or ended with this sample.
    public mutating func observe(_ value: Double, at timestamp: Int64, receivedAt: Int64? = nil) -> [DataQualityEvent] {
        var events: [DataQualityEvent] = []
        let arrival = receivedAt ?? timestamp
        if isSilent {
            isSilent = false
            let gap = lastSeenAt.map { arrival - $0 } ?? 0
            events.append(
                event(.silence, at: timestamp, false, "samples again after \(DurationText.describe(milliseconds: gap))")
            )
        }
        lastSeenAt = max(lastSeenAt ?? arrival, arrival)
        checkRange(value, at: timestamp, into: &events)

        if let newest = newestTimestamp, timestamp < newest {
            if !isRegressed {
                isRegressed = true
                events.append(
                    event(
                        .timestampRegression,
                        at: timestamp,
                        true,
                        "timestamp \(timestamp) is \(DurationText.describe(milliseconds: newest - timestamp)) before the previous sample (\(newest))"
                    )
                )
            }
            return events  // an out-of-order sample teaches nothing about cadence or runs
        }
        if isRegressed {
            isRegressed = false
            events.append(event(.timestampRegression, at: timestamp, false, "timestamps increase again"))
        }
        if let newest = newestTimestamp, timestamp > newest {
            learnInterval(timestamp - newest, at: timestamp, into: &events)
        }
        checkRun(value, at: timestamp, into: &events)
        newestTimestamp = timestamp
        count += 1
        return events
    }

    /// Checks what only the passing of time reveals: silence against the learned cadence.
    /// - Parameter now: the current time, ms since the epoch (the clock `receivedAt` uses).
    /// - Returns: a silence that started, if any.
    public mutating func check(now: Int64) -> [DataQualityEvent] {
        guard !isSilent, count >= rules.warmupSamples, let lastSeenAt, let interval = typicalInterval else { return [] }
        let gap = now - lastSeenAt
        let limit = max(Double(rules.minimumSilenceMilliseconds), rules.silenceFactor * interval)
        guard Double(gap) > limit else { return [] }
        isSilent = true
        return [
            event(
                .silence,
                at: now,
                true,
                "no sample for \(DurationText.describe(milliseconds: gap)) (usual interval \(DurationText.describe(milliseconds: interval)))"
            )
        ]
    }

    // MARK: - Rules

    private mutating func checkRange(_ value: Double, at timestamp: Int64, into events: inout [DataQualityEvent]) {
        // Texts are built only when an event is emitted: this runs for every sample.
        var rangeText: String {
            "\(rules.minimum.map(DurationText.value) ?? "-∞")…\(rules.maximum.map(DurationText.value) ?? "∞")"
        }
        let isOutside: Bool
        if !value.isFinite {
            isOutside = true
        } else {
            isOutside = (rules.minimum.map { value < $0 } ?? false) || (rules.maximum.map { value > $0 } ?? false)
        }
        if isOutside, !isOutOfRange {
            isOutOfRange = true
            let problem: String
            if !value.isFinite {
                problem = "value \(value) is not a number"
            } else if let minimum = rules.minimum, value < minimum {
                problem = "value \(DurationText.value(value)) is below the physical range \(rangeText)"
            } else {
                problem = "value \(DurationText.value(value)) is above the physical range \(rangeText)"
            }
            events.append(event(.outOfRange, at: timestamp, true, problem))
        } else if !isOutside, isOutOfRange {
            isOutOfRange = false
            events.append(
                event(
                    .outOfRange,
                    at: timestamp,
                    false,
                    "value \(DurationText.value(value)) is back within \(rangeText)"
                )
            )
        }
    }

    private mutating func learnInterval(_ interval: Int64, at timestamp: Int64, into events: inout [DataQualityEvent]) {
        let logInterval = log(Double(interval))
        if intervals == 0 {
            longLogInterval = logInterval
            recentLogInterval = logInterval
        } else {
            longLogInterval += Self.longWeight * (logInterval - longLogInterval)
            recentLogInterval += Self.recentWeight * (logInterval - recentLogInterval)
        }
        intervals += 1
        guard intervals >= rules.warmupSamples, rules.rateChangeFactor > 1 else { return }
        // Compare logs: no exp() per sample.
        let logRatio = recentLogInterval - longLogInterval
        let logFactor = log(rules.rateChangeFactor)
        var recent: String { DurationText.describe(milliseconds: exp(recentLogInterval)) }
        var usual: String { DurationText.describe(milliseconds: exp(longLogInterval)) }
        if !isRateChanged, abs(logRatio) > logFactor {
            isRateChanged = true
            let direction = logRatio > 0 ? "slower" : "faster"
            events.append(
                event(
                    .rateChange,
                    at: timestamp,
                    true,
                    "reporting \(direction): every \(recent), usually every \(usual)"
                )
            )
        } else if isRateChanged, abs(logRatio) < logFactor / 2 {
            isRateChanged = false
            events.append(event(.rateChange, at: timestamp, false, "reporting every \(recent) again (usual \(usual))"))
        }
    }

    private mutating func checkRun(_ value: Double, at timestamp: Int64, into events: inout [DataQualityEvent]) {
        guard let lastValue, lastValue == value || (lastValue.isNaN && value.isNaN) else {
            // The run ended (or this is the first sample): learn its length unless it was a flatline.
            if lastValue != nil, let newest = newestTimestamp {
                let length = newest - runStart
                if isFlatline {
                    // A flagged run teaches at most the threshold it crossed: a signal whose
                    // normal runs are long (a door contact) is flagged once and then learnt,
                    // while a stuck sensor that recovers raises the next threshold only 4-fold.
                    longestNormalRun = max(longestNormalRun, min(length, flatlineLimit))
                    isFlatline = false
                    events.append(
                        event(
                            .flatline,
                            at: timestamp,
                            false,
                            "value changed to \(DurationText.value(value)) after \(DurationText.describe(milliseconds: timestamp - runStart)) unchanged"
                        )
                    )
                } else {
                    longestNormalRun = max(longestNormalRun, length)
                }
            }
            self.lastValue = value
            runStart = timestamp
            runSamples = 1
            return
        }
        runSamples += 1
        guard !isFlatline, runSamples >= rules.minimumFlatlineSamples, count >= rules.warmupSamples else { return }
        let length = timestamp - runStart
        guard Double(length) > Double(flatlineLimit) else { return }
        isFlatline = true
        let usual =
            longestNormalRun > 0
            ? "usual longest run \(DurationText.describe(milliseconds: longestNormalRun))" : "it has never changed"
        events.append(
            event(
                .flatline,
                at: timestamp,
                true,
                "value \(DurationText.value(value)) unchanged for \(DurationText.describe(milliseconds: length)) (\(usual))"
            )
        )
    }

    /// How long an unchanged run may last before it is a flatline, in ms.
    private var flatlineLimit: Int64 {
        let learned = rules.flatlineFactor * Double(longestNormalRun)
        return max(rules.minimumFlatlineMilliseconds, Int64(min(learned, 1e15)))
    }

    private func event(
        _ kind: DataQualityEvent.Kind,
        at timestamp: Int64,
        _ isActive: Bool,
        _ detail: String
    )
        -> DataQualityEvent
    {
        DataQualityEvent(series: series, kind: kind, timestamp: timestamp, isActive: isActive, detail: detail)
    }
}
