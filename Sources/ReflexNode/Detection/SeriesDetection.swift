public import ReflexAnalytics
public import ReflexCore

/// Everything live detection keeps for one series, and what a checkpoint stores (as JSON):
/// its detector, its data-quality monitor, the settings both were built with, the latest verdict
/// and the data-quality conditions active now.
public struct SeriesDetection: Sendable, Codable {
    /// The format of the checkpoint; a state of another version is discarded at restore.
    public static let currentVersion = 1

    public var version = SeriesDetection.currentVersion
    public var settings: DetectorSettings
    public var qualityRules: DataQualityRules
    public var detector: DefaultAnomalyDetector
    public var monitor: DataQualityMonitor
    /// The verdict on the scored sample with the newest timestamp.
    public var latest: AnomalyEvent?
    /// The start events of the conditions active now.
    public var activeQuality: [DataQualityEvent] = []

    public init(series: SeriesKey, settings: DetectorSettings, qualityRules: DataQualityRules) {
        self.settings = settings
        self.qualityRules = qualityRules
        self.detector = DefaultAnomalyDetector(settings: settings)
        self.monitor = DataQualityMonitor(series: series, rules: qualityRules)
    }

    /// Records data-quality events in ``activeQuality``.
    mutating func track(_ events: [DataQualityEvent]) {
        for event in events {
            activeQuality.removeAll { $0.kind == event.kind }
            if event.isActive { activeQuality.append(event) }
        }
    }
}
