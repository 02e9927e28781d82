/// The typical value of a series at each phase of a period (by default one day), in 48 bins.
///
/// Each bin is an exponentially weighted mean of the values seen in it; `expected(at:)` gives the
/// seasonal forecast for a timestamp, or nil until its bin has been visited once. The residual
/// against it lets the detector see a change that stays inside the series' overall range but is
/// wrong for the time of day (a flat line where there should be a daily wave, a rise at night).
///
/// - Complexity: O(1) per sample; 48 doubles (384 bytes of heap) plus a 64-bit visit mask.
/// - Source: seasonal indices updated by exponential smoothing, P. R. Winters, "Forecasting sales
///   by exponentially weighted moving averages", Management Science 6(3), 1960 (the additive
///   seasonal part of Holt–Winters), with the phase taken from the timestamp, not the row count,
///   so that irregular sampling and gaps keep the profile aligned.
struct SeasonalProfile: Sendable, Hashable, Codable {
    static let binCount = 48
    /// The weight of a new value in its bin.
    static let rate = 0.2

    private var means: [Double]
    private var visited: UInt64 = 0
    /// The period in milliseconds, at least 1.
    let periodMillis: Int64

    init(periodMillis: Int64) {
        self.periodMillis = max(1, periodMillis)
        self.means = Array(repeating: 0, count: Self.binCount)
    }

    /// Bytes of heap the profile owns (its bins).
    var heapBytes: Int { means.capacity * MemoryLayout<Double>.stride }

    func bin(at timestamp: Int64) -> Int {
        let phase = ((timestamp % periodMillis) + periodMillis) % periodMillis
        // phase < periodMillis, so the product fits as long as the period is below 2^57 ms.
        let scaled = Double(phase) / Double(periodMillis) * Double(Self.binCount)
        return min(Self.binCount - 1, max(0, Int(scaled)))
    }

    func expected(inBin bin: Int) -> Double? {
        visited & (1 << UInt64(bin)) != 0 ? means[bin] : nil
    }

    mutating func learn(_ value: Double, inBin bin: Int) {
        if visited & (1 << UInt64(bin)) == 0 {
            means[bin] = value
            visited |= 1 << UInt64(bin)
        } else {
            means[bin] += Self.rate * (value - means[bin])
        }
    }
}
