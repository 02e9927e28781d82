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
}
