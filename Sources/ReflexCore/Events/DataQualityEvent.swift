/// A data-quality condition on one series starting or ending: the data itself is suspect
/// (stuck, out of range, silent, out of order, reporting at a new rate), whatever its values say.
public struct DataQualityEvent: Sendable, Hashable, Codable {
    /// The kinds of data-quality problem Reflex watches for.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The value has not changed for much longer than usual (stuck sensor, flatline).
        case flatline
        /// The value is outside the physical range configured for the metric.
        case outOfRange
        /// No sample for several times the learned reporting cadence.
        case silence
        /// A sample arrived with a timestamp older than the previous one.
        case timestampRegression
        /// The reporting rate changed suddenly (much faster or much slower than learned).
        case rateChange

        /// Whether the condition casts doubt on the values themselves (a stuck or out-of-range
        /// sensor, or no values at all), as opposed to when they arrive: a device that backfills
        /// a buffer after a network outage changes its rate, and one whose clock steps back
        /// regresses its timestamps, but their readings are still readings. Fail-safe policies
        /// with `onUnhealthy` act on the first kind only.
        public var makesValuesSuspect: Bool {
            switch self {
            case .flatline, .outOfRange, .silence: true
            case .timestampRegression, .rateChange: false
            }
        }
    }

    public var series: SeriesKey
    public var kind: Kind
    /// When the condition was detected (or cleared), milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// True when the condition starts, false when it ends.
    public var isActive: Bool
    /// A human explanation: "value 71.2 unchanged for 41 min (usual longest run 3 min)".
    public var detail: String

    public init(series: SeriesKey, kind: Kind, timestamp: Int64, isActive: Bool, detail: String) {
        self.series = series
        self.kind = kind
        self.timestamp = timestamp
        self.isActive = isActive
        self.detail = detail
    }
}

/// What the analytics stage publishes, in order, on one stream.
public enum AnalyticsEvent: Sendable, Hashable, Codable {
    case anomaly(AnomalyEvent)
    case dataQuality(DataQualityEvent)
}
