/// One scored sample of one series, as the live detectors publish it to the automation engine,
/// the store and the dashboard.
public struct AnomalyEvent: Sendable, Hashable, Codable {
    public var series: SeriesKey
    /// The sample's timestamp, milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// The sample's value.
    public var value: Double
    /// The detector's score and explanation.
    public var anomaly: AnomalyScore

    public init(series: SeriesKey, timestamp: Int64, value: Double, anomaly: AnomalyScore) {
        self.series = series
        self.timestamp = timestamp
        self.value = value
        self.anomaly = anomaly
    }

    /// The score in [0, 1].
    public var score: Double { anomaly.score }
}
