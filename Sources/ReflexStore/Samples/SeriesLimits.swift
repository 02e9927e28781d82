/// How many series devices may create: per device, per node, and how fast.
///
/// | key | type | default |
/// | --- | --- | --- |
/// | `maxSeriesPerDevice` | `Int` | 1,000 |
/// | `maxSeries` | `Int` | 100,000 |
/// | `maxNewSeriesPerMinute` | `Int` | 100 (per device; a burst of that many, then refilled over a minute) |
/// | `maxNewSeriesPerMinutePerNode` | `Int` | 10,000 (over all devices; the same kind of bucket) |
///
/// A series is a (device, metric) pair; every new metric name a device sends creates one, with
/// its rollups and, with detection on, a detector and an `anomaly:` score series. Without a bound
/// one device can grow the node's memory and database without end (issue 12: 220,000 series
/// from 11 MB of payloads took RSS from 52 MB to 1.3 GB). The node's own series (the
/// ``ReflexCore/ReservedMetricNames`` prefixes, such as `anomaly:`) are not counted here; they
/// are bounded by the detector cap.
public struct SeriesLimits: Sendable, Equatable {
    /// Most series one device may have.
    public var maxSeriesPerDevice: Int
    /// Most device series the node keeps, over all devices.
    public var maxSeries: Int
    /// Most new series one device may create per minute (token bucket: a burst of this many,
    /// refilled continuously at this rate per minute).
    public var maxNewSeriesPerMinute: Int
    /// Most new series all devices together may create per minute (a token bucket like the
    /// device's): many devices, each under its own rate, cannot together fill the node in minutes.
    public var maxNewSeriesPerMinutePerNode: Int

    /// The defaults in the table above for every key not given.
    public init(
        maxSeriesPerDevice: Int = 1_000,
        maxSeries: Int = 100_000,
        maxNewSeriesPerMinute: Int = 100,
        maxNewSeriesPerMinutePerNode: Int = 10_000
    ) {
        self.maxSeriesPerDevice = maxSeriesPerDevice
        self.maxSeries = maxSeries
        self.maxNewSeriesPerMinute = maxNewSeriesPerMinute
        self.maxNewSeriesPerMinutePerNode = maxNewSeriesPerMinutePerNode
    }
}
