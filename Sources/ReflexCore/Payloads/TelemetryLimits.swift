/// Bounds that every telemetry payload must respect; a payload that breaks one is rejected whole.
///
/// | key | type | default |
/// | --- | --- | --- |
/// | `maxPayloadBytes` | `Int` | 1 MiB (1,048,576) |
/// | `maxSamplesPerMessage` | `Int` | 10,000 |
/// | `maxFutureSkew` | `Duration` | 1 day |
/// | `maxPast` | `Duration?` | 10 years (3,650 days); `nil` accepts any past timestamp |
///
/// Timestamps are checked against the receive time the caller passes in, not a clock: a device
/// whose clock runs a little fast is fine, one that sends microseconds as milliseconds (50,000
/// years ahead) or seconds as milliseconds (January 1970) is told so.
public struct TelemetryLimits: Sendable, Equatable {
    /// Largest payload accepted, in bytes.
    public var maxPayloadBytes: Int
    /// Most samples (values) one message may carry; a message with more is rejected, not truncated.
    public var maxSamplesPerMessage: Int
    /// How far ahead of the receive time a timestamp may be.
    public var maxFutureSkew: Duration
    /// How far behind the receive time a timestamp may be; `nil` for no limit.
    public var maxPast: Duration?

    /// The defaults above.
    public static let `default` = TelemetryLimits()

    /// Limits with the defaults in the table above for every key not given.
    public init(
        maxPayloadBytes: Int = 1 << 20,
        maxSamplesPerMessage: Int = 10_000,
        maxFutureSkew: Duration = .seconds(86_400),
        maxPast: Duration? = .seconds(3650 * 86_400)
    ) {
        self.maxPayloadBytes = maxPayloadBytes
        self.maxSamplesPerMessage = maxSamplesPerMessage
        self.maxFutureSkew = maxFutureSkew
        self.maxPast = maxPast
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, saturating at `Int64.max`.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (millis, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return millis &+ attoseconds / 1_000_000_000_000_000
    }
}
