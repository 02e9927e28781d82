/// Why a detector gave a sample its score: what it expected, the band it considered normal,
/// which of its components fired and by how much.
public struct AnomalyExplanation: Sendable, Hashable, Codable {
    /// The value the detector expected at this instant, if it forecasts one.
    public var expected: Double?
    /// The lower edge of the band the detector considered normal, if it has one.
    public var lower: Double?
    /// The upper edge of the band the detector considered normal, if it has one.
    public var upper: Double?
    /// The component that set the score, e.g. `"seasonal-spike"`, `"drift"`, `"variance"`, `"warmup"`.
    public var component: String
    /// How far the sample was from normal, in the component's own scale (for example robust
    /// standard deviations, signed: negative below the band).
    public var deviation: Double

    public init(expected: Double?, lower: Double?, upper: Double?, component: String, deviation: Double) {
        self.expected = expected
        self.lower = lower
        self.upper = upper
        self.component = component
        self.deviation = deviation
    }
}

/// A detector's verdict on one sample: a score in [0, 1] (1 = certainly anomalous) and its
/// explanation.
public struct AnomalyScore: Sendable, Hashable, Codable {
    /// In [0, 1], never NaN.
    public var score: Double
    public var explanation: AnomalyExplanation

    public init(score: Double, explanation: AnomalyExplanation) {
        self.score = score
        self.explanation = explanation
    }
}
