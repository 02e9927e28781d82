/// The thresholds a ``DataQualityMonitor`` applies; configurable per device type and metric.
///
/// Keys and defaults:
/// - `range` (none): the physical range `min...max`; a value outside it is `outOfRange`.
/// - `minimumFlatline` (15 min) and `flatlineFactor` (4): a value unchanged for at least
///   `minimumFlatlineSamples` (10) samples and longer than both `minimumFlatline` and
///   `flatlineFactor` × the longest normal run seen so far is a `flatline`. A flagged run is
///   learnt up to the threshold it crossed, so long normal runs (a door contact) are flagged once.
/// - `minimumSilence` (30 s) and `silenceFactor` (5): no sample for longer than both, measured
///   against the learned typical interval, is `silence`.
/// - `rateChangeFactor` (4): the recent typical interval more than 4 times shorter or longer than
///   the long-term one is a `rateChange`; it ends when the ratio is back within its square root.
/// - `warmupSamples` (20): cadence-based checks (silence, rate change, flatline against the
///   learned run) wait until this many in-order samples have been seen.
public struct DataQualityRules: Sendable, Hashable, Codable {
    /// The lowest physically possible value, if configured.
    public var minimum: Double?
    /// The highest physically possible value, if configured.
    public var maximum: Double?
    /// The shortest unchanged run that can be a flatline, in milliseconds.
    public var minimumFlatlineMilliseconds: Int64
    /// How many samples an unchanged run needs before it can be a flatline.
    public var minimumFlatlineSamples: Int
    /// How many times the longest normal run a flatline must last.
    public var flatlineFactor: Double
    /// The shortest gap that can be a silence, in milliseconds.
    public var minimumSilenceMilliseconds: Int64
    /// How many typical intervals without a sample make a silence.
    public var silenceFactor: Double
    /// How far (as a ratio) the recent interval must move from the long-term one.
    public var rateChangeFactor: Double
    /// In-order samples needed before cadence-based checks start.
    public var warmupSamples: Int

    /// - Parameters: see the type's documentation for meanings and defaults.
    public init(
        minimum: Double? = nil,
        maximum: Double? = nil,
        minimumFlatlineMilliseconds: Int64 = 15 * 60_000,
        minimumFlatlineSamples: Int = 10,
        flatlineFactor: Double = 4,
        minimumSilenceMilliseconds: Int64 = 30_000,
        silenceFactor: Double = 5,
        rateChangeFactor: Double = 4,
        warmupSamples: Int = 20
    ) {
        self.minimum = minimum
        self.maximum = maximum
        self.minimumFlatlineMilliseconds = minimumFlatlineMilliseconds
        self.minimumFlatlineSamples = minimumFlatlineSamples
        self.flatlineFactor = flatlineFactor
        self.minimumSilenceMilliseconds = minimumSilenceMilliseconds
        self.silenceFactor = silenceFactor
        self.rateChangeFactor = rateChangeFactor
        self.warmupSamples = warmupSamples
    }
}
