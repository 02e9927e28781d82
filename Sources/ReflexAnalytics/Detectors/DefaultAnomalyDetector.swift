public import ReflexCore

/// The detector every series gets unless configured otherwise.
///
/// PLACEHOLDER (interface only, being replaced by the NAB-tuned detector): an exponentially
/// weighted mean and variance, scored by the squashed z-score of each sample.
public struct DefaultAnomalyDetector: AnomalyDetector {
    public var settings: DetectorSettings
    private var count: Int = 0
    private var mean: Double = 0
    private var variance: Double = 0

    public init(settings: DetectorSettings = DetectorSettings()) {
        self.settings = settings
    }

    public mutating func observe(_ value: Double, at timestamp: Int64) -> AnomalyScore {
        guard value.isFinite else {
            return AnomalyScore(
                score: 0,
                explanation: AnomalyExplanation(
                    expected: nil,
                    lower: nil,
                    upper: nil,
                    component: "invalid",
                    deviation: 0
                )
            )
        }
        let deviation = variance > 0 ? (value - mean) / variance.squareRoot() : 0
        let spread = variance.squareRoot() * 3
        let score = count < 10 ? 0 : min(1, max(0, (abs(deviation) - 2) / 4))
        let verdict = AnomalyScore(
            score: score.isFinite ? score : 0,
            explanation: AnomalyExplanation(
                expected: count > 0 ? mean : nil,
                lower: count > 0 ? mean - spread : nil,
                upper: count > 0 ? mean + spread : nil,
                component: count < 10 ? "warmup" : "level",
                deviation: deviation.isFinite ? deviation : 0
            )
        )
        count += 1
        let alpha = 0.05
        let delta = value - mean
        mean += alpha * delta
        variance = (1 - alpha) * (variance + alpha * delta * delta)
        return verdict
    }
}
