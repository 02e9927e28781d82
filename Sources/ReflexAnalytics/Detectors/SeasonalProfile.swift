import Foundation

/// The typical value of a series at each phase of a period (by default one day), in 48 bins.
///
/// Each bin is an exponentially weighted mean of the values seen in it; `expected(inBin:)` gives
/// the seasonal forecast, or nil until the bin has been visited once. The residual against it
/// lets the detector see a change that stays inside the series' overall range but is wrong for
/// the time of day (a flat line where there should be a daily wave, a rise at night).
///
/// How fast a bin learns is set per *visit* (all the samples that fall in it during one
/// period), not per sample: each visit moves the bin's mean about three quarters of the way to
/// what it saw (retention 0.8⁶ ≈ 0.26), whatever the sampling rate, and never more than 0.2 per
/// sample. At 5-minute sampling (6 samples per half-hour bin) that is 0.2 per sample; at 1 Hz
/// (1800 per bin) about 0.0007, so the bin holds the typical value at that time over the last
/// few days instead of the last few seconds (which made it a short-term level model whose
/// forecast jumped to yesterday's value at every bin boundary). The sampling interval is
/// learnt from the timestamps (an EWMA of the gaps, ignoring repeats and gaps longer than a bin).
///
/// - Complexity: O(1) per sample; 48 doubles (384 bytes of heap) plus a 64-bit visit mask and
///   two scalars for the sampling interval.
/// - Source: seasonal indices updated by exponential smoothing, P. R. Winters, "Forecasting sales
///   by exponentially weighted moving averages", Management Science 6(3), 1960 (the additive
///   seasonal part of Holt–Winters, whose indices are updated once per period), with the phase
///   taken from the timestamp, not the row count, so that irregular sampling and gaps keep the
///   profile aligned.
struct SeasonalProfile: Sendable, Hashable, Codable {
    static let binCount = 48
    /// The largest weight of a new value in its bin.
    static let maximumRate = 0.2
    /// How much of a bin's mean survives one visit.
    static let visitRetention = 0.262_144  // 0.8^6

    private var means: [Double]
    private var visited: UInt64 = 0
    /// The period in milliseconds, at least 1.
    let periodMillis: Int64
    /// The learnt interval between samples in milliseconds; 0 until known.
    private(set) var intervalMillis: Double = 0
    private var lastTimestamp: Int64?

    init(periodMillis: Int64) {
        self.periodMillis = max(1, periodMillis)
        self.means = Array(repeating: 0, count: Self.binCount)
    }

    /// Decodes a profile, including one written before the sampling interval was learnt (it
    /// learns it again from the next samples).
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        means = try container.decode([Double].self, forKey: .means)
        visited = try container.decode(UInt64.self, forKey: .visited)
        periodMillis = try container.decode(Int64.self, forKey: .periodMillis)
        intervalMillis = try container.decodeIfPresent(Double.self, forKey: .intervalMillis) ?? 0
        lastTimestamp = try container.decodeIfPresent(Int64.self, forKey: .lastTimestamp)
    }

    /// Bytes of heap the profile owns (its bins).
    var heapBytes: Int { means.capacity * MemoryLayout<Double>.stride }

    /// The weight of one new value in its bin at the learnt sampling interval.
    var rate: Double {
        guard intervalMillis > 0 else { return Self.maximumRate }
        let samplesPerVisit = Double(periodMillis) / Double(Self.binCount) / intervalMillis
        return min(Self.maximumRate, 1 - pow(Self.visitRetention, 1 / max(samplesPerVisit, 1e-9)))
    }

    func bin(at timestamp: Int64) -> Int {
        let phase = ((timestamp % periodMillis) + periodMillis) % periodMillis
        // phase < periodMillis, so the product fits as long as the period is below 2^57 ms.
        let scaled = Double(phase) / Double(periodMillis) * Double(Self.binCount)
        return min(Self.binCount - 1, max(0, Int(scaled)))
    }

    func expected(inBin bin: Int) -> Double? {
        visited & (1 << UInt64(bin)) != 0 ? means[bin] : nil
    }

    mutating func learn(_ value: Double, inBin bin: Int, at timestamp: Int64) {
        learnInterval(at: timestamp)
        if visited & (1 << UInt64(bin)) == 0 {
            means[bin] = value
            visited |= 1 << UInt64(bin)
        } else {
            means[bin] += rate * (value - means[bin])
        }
    }

    /// Updates the learnt sampling interval with the gap since the previous sample; repeated or
    /// regressing timestamps and gaps longer than a bin (outages) are not sampling intervals.
    private mutating func learnInterval(at timestamp: Int64) {
        defer { lastTimestamp = max(lastTimestamp ?? timestamp, timestamp) }
        guard let last = lastTimestamp, timestamp > last else { return }
        let gap = Double(timestamp - last)
        guard gap <= Double(periodMillis) / Double(Self.binCount) else { return }
        intervalMillis = intervalMillis == 0 ? gap : intervalMillis + 0.05 * (gap - intervalMillis)
    }
}
