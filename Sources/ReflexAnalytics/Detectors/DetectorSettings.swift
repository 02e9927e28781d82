/// How a series' detector is set up; configurable per device type and metric.
public struct DetectorSettings: Sendable, Hashable, Codable {
    /// Whether the series is scored at all. Default: true.
    public var isEnabled: Bool
    /// In [0, 1]; higher scores more samples as anomalous. Default: 0.5.
    public var sensitivity: Double
    /// A known seasonal period (for example one day), if the signal has one. Default: none.
    public var seasonality: Duration?

    public init(isEnabled: Bool = true, sensitivity: Double = 0.5, seasonality: Duration? = nil) {
        self.isEnabled = isEnabled
        self.sensitivity = sensitivity
        self.seasonality = seasonality
    }
}
