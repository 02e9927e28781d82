public import ReflexCore

/// What the store holds for one series.
public struct SeriesInfo: Sendable, Hashable {
    /// The series.
    public var key: SeriesKey
    /// The oldest retained timestamp (raw, else the oldest rollup bucket), or nil when none is left.
    public var firstTimestamp: Int64?
    /// The newest timestamp stored.
    public var lastTimestamp: Int64?
    /// Samples counted by the hourly rollup, i.e. received within its retention (5 years by default).
    public var sampleCount: Int64

    /// The metric of ``key``.
    public var metric: MetricName { key.metric }

    /// Creates a description of a series.
    public init(key: SeriesKey, firstTimestamp: Int64?, lastTimestamp: Int64?, sampleCount: Int64) {
        self.key = key
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.sampleCount = sampleCount
    }

    /// The oldest retained timestamp of a series from its oldest raw sample and the starts of its
    /// oldest minute and hour buckets. A rollup bucket only bounds its first sample from below:
    /// the exact raw timestamp wins when it lies in the oldest retained bucket.
    static func firstTimestamp(raw: Int64?, minuteBucket: Int64?, hourBucket: Int64?) -> Int64? {
        if let raw, hourBucket.map({ raw < $0 + TimeBucket.hour }) ?? true,
            minuteBucket.map({ raw < $0 + TimeBucket.minute }) ?? true
        {
            return raw
        }
        return [hourBucket, minuteBucket, raw].compactMap { $0 }.min()
    }
}
