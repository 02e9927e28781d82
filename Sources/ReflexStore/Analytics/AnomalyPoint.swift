/// One scored sample as kept for the anomaly band: the sample, its score and the band the
/// detector considered normal. With `count > 1` it summarises a time bucket (max score, mean
/// expected, min lower, max upper, last value).
public struct AnomalyPoint: Sendable, Hashable, Codable {
    /// The sample's timestamp (or the bucket's start), ms since the Unix epoch.
    public var timestamp: Int64
    public var value: Double
    /// In [0, 1].
    public var score: Double
    public var expected: Double?
    public var lower: Double?
    public var upper: Double?
    /// How many samples the point stands for.
    public var count: Int

    public init(
        timestamp: Int64,
        value: Double,
        score: Double,
        expected: Double?,
        lower: Double?,
        upper: Double?,
        count: Int = 1
    ) {
        self.timestamp = timestamp
        self.value = value
        self.score = score
        self.expected = expected
        self.lower = lower
        self.upper = upper
        self.count = count
    }
}
