/// One view of a series for the default detector: an exponentially smoothed copy of an input,
/// compared with a slow, robust model of where that smoothed copy usually sits.
///
/// Each sample gives a signed deviation in robust standard deviations,
/// `z = (smoothed − mean) / (1.2533 · meanAbsoluteDeviation)`, computed before the sample is
/// learnt so that a sudden change is measured against the past alone. The centre and spread are
/// exponentially weighted with a rate that starts at 1/n (the plain running mean) and settles at
/// the detector's long rate, so the model forgets at a constant pace once warmed up.
///
/// The channel also keeps the *record* of its recent deviations: the largest |z| seen, decayed
/// geometrically. Comparing a new |z| with that record is what makes the score self-calibrating
/// across series with light and heavy tails.
///
/// - Complexity: O(1) time per sample; 32 bytes of state.
/// - Sources: exponentially weighted moving averages, S. W. Roberts, "Control chart tests based
///   on geometric moving averages", Technometrics 1(3), 1959; the mean absolute deviation as a
///   robust scale (σ ≈ 1.2533 · MAD for a Gaussian), R. C. Geary, "The ratio of the mean
///   deviation to the standard deviation as a test of normality", Biometrika 27, 1935; the
///   decayed record as a streaming extreme-value / conformal threshold (a new value beyond the
///   maximum of the last N has conformal p-value ≤ 1/(N+1)), V. Vovk, A. Gammerman and
///   G. Shafer, "Algorithmic Learning in a Random World", Springer 2005, ch. 2.
struct DeviationChannel: Sendable, Hashable, Codable {
    /// The smoothed input.
    private(set) var smoothed: Double = 0
    /// The slow centre of `smoothed`.
    private(set) var mean: Double = 0
    /// The slow mean absolute deviation of `smoothed` around `mean`.
    private(set) var meanAbsoluteDeviation: Double = 0
    /// The decayed maximum of recent |z|.
    private(set) var record: Double = 0

    /// The robust standard deviation of the smoothed input.
    var scale: Double { 1.2533 * meanAbsoluteDeviation }

    /// A channel that has learnt nothing yet.
    init() {}

    /// A channel for the same input as `other` but smoothed differently, started from `other`'s
    /// centre and its spread times `spreadFactor`, with an empty record: for a channel added to
    /// a detector that has already learnt the others.
    init(seededFrom other: DeviationChannel, spreadFactor: Double) {
        smoothed = other.smoothed
        mean = other.mean
        meanAbsoluteDeviation = other.meanAbsoluteDeviation * spreadFactor
    }

    /// Scores `input` (the signed deviation, 0 for the very first input), then learns it.
    ///
    /// - Parameters:
    ///   - smoothing: the weight of the new input in `smoothed` (1 = no smoothing).
    ///   - rate: the weight of the new smoothed value in the slow centre and spread.
    ///   - isFirst: the first input of the series only initialises the channel.
    mutating func observe(_ input: Double, smoothing: Double, rate: Double, isFirst: Bool) -> Double {
        if isFirst {
            smoothed = input
            mean = input
            meanAbsoluteDeviation = 0
            return 0
        }
        smoothed += smoothing * (input - smoothed)
        let difference = smoothed - mean
        // A floor on the spread keeps a constant series finite: any change from a perfectly flat
        // signal is then a very large (but finite) deviation.
        let floor = 1e-9 * (abs(mean) + 1e-3)
        let deviation = difference / (scale + floor)
        mean += rate * difference
        meanAbsoluteDeviation += rate * (abs(difference) - meanAbsoluteDeviation)
        return deviation
    }

    /// How far `deviation` exceeds the recent record (or `floor`, whichever is larger): 1 means
    /// exactly at it.
    func novelty(of deviation: Double, floor: Double) -> Double {
        abs(deviation) / max(record, floor)
    }

    /// Decays the record by `decay`, then raises it to |deviation| if that is larger.
    mutating func remember(_ deviation: Double, decay: Double) {
        record = max(record * decay, abs(deviation))
    }
}
