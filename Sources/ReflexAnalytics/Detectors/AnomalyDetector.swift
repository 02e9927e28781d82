public import ReflexCore

/// An online anomaly detector for one numeric series.
///
/// A detector is a value: it holds all it has learned, in constant memory, and its state is
/// `Codable` so it can be checkpointed and restored (a restored detector scores the next sample
/// exactly as the original would). It is causal: the score of a sample depends on that sample and
/// the ones observed before it, never on later ones.
///
/// ```swift
/// var detector = DefaultAnomalyDetector(settings: DetectorSettings())
/// for sample in samples {
///     let verdict = detector.observe(sample.value, at: sample.timestamp)
///     if verdict.score > 0.9 { print(verdict.explanation) }
/// }
/// ```
public protocol AnomalyDetector: Sendable, Codable {
    /// Scores `value`, observed at `timestamp` (milliseconds since the Unix epoch), then learns
    /// from it. Timestamps normally increase; a detector must cope with gaps, repeats and
    /// regressions without crashing. The score is in [0, 1] and never NaN.
    mutating func observe(_ value: Double, at timestamp: Int64) -> AnomalyScore
}
