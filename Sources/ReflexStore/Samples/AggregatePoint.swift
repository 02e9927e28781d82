/// Summary of one series over one time bucket `[start, start + step)`.
public struct AggregatePoint: Sendable, Hashable {
    /// The bucket's start, in ms since the epoch; buckets are aligned to multiples of the step.
    public var start: Int64
    /// The smallest value in the bucket.
    public var min: Double
    /// The largest value in the bucket.
    public var max: Double
    /// The sum of the values in the bucket.
    public var sum: Double
    /// How many samples the bucket holds.
    public var count: Int64
    /// The value of the newest sample in the bucket.
    public var last: Double

    /// The arithmetic mean, `sum / count`.
    public var mean: Double { count == 0 ? .nan : sum / Double(count) }

    /// Creates a point.
    public init(start: Int64, min: Double, max: Double, sum: Double, count: Int64, last: Double) {
        self.start = start
        self.min = min
        self.max = max
        self.sum = sum
        self.count = count
        self.last = last
    }
}

/// The stored resolution an aggregate query reads.
public enum AggregateResolution: Sendable, Hashable, CaseIterable {
    /// Raw samples.
    case raw
    /// One-minute rollups.
    case minute
    /// One-hour rollups.
    case hour

    /// The width of one stored row in ms (1 for raw samples).
    public var width: Int64 {
        switch self {
        case .raw: 1
        case .minute: TimeBucket.minute
        case .hour: TimeBucket.hour
        }
    }

    /// The coarsest resolution that answers an aggregate exactly: its width divides `step`,
    /// `from` and `to`, so every stored bucket falls wholly inside one output bucket and inside
    /// the range. The hourly rollup when that holds for 1 h, else the minute rollup, else raw.
    /// - Complexity: O(1).
    public static func best(step: Int64, from: Int64, to: Int64) -> AggregateResolution {
        for resolution in [AggregateResolution.hour, .minute]
        where step % resolution.width == 0 && from % resolution.width == 0 && to % resolution.width == 0 {
            return resolution
        }
        return .raw
    }
}
