/// What an expression can read about one device at one instant. The engine implements it over
/// its per-device state; tests implement it with plain values.
public protocol EvaluationContext {
    /// The evaluation time, milliseconds since the Unix epoch.
    var now: Int64 { get }
    /// Whether the device is online (unknown counts as online).
    var isOnline: Bool { get }
    /// The latest value of `metric`, or nil if none was seen.
    func latest(_ metric: String) -> Double?
    /// The latest anomaly score of `metric` in [0, 1], or nil.
    func anomalyScore(_ metric: String) -> Double?
    /// Whether a data-quality problem is active on `metric`.
    func hasQualityProblem(_ metric: String) -> Bool
    /// Whether `metric` is silent or stuck.
    func isStale(_ metric: String) -> Bool
    /// Whether an alarm of `type` is open (not cleared) on the device.
    func isAlarmOpen(_ type: String) -> Bool
    /// Change per second of `metric` over the last `window` ms, or nil with fewer than two samples.
    func rate(_ metric: String, window: Int64) -> Double?
    /// An aggregate of `metric` over the last `window` ms, or nil without samples.
    func aggregate(_ kind: WindowAggregate, _ metric: String, window: Int64) -> Double?
}
