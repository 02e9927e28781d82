/// The checks every telemetry codec applies, with the limits and the receive time of one payload.
///
/// Codecs call it while decoding so that a bad payload is rejected at the first problem, with its
/// place. It is cheap to make (a few integers) and holds no state between payloads.
public struct TelemetryValidator: Sendable {
    /// The limits in force.
    public let limits: TelemetryLimits
    /// When the payload arrived, in milliseconds since the Unix epoch; also the timestamp of
    /// samples that carry none.
    public let receivedAt: Int64
    private let futureLimit: Int64
    private let pastLimit: Int64?

    /// Prepares the checks for one payload received at `receivedAt` (ms since the Unix epoch).
    public init(limits: TelemetryLimits, receivedAt: Int64) {
        self.limits = limits
        self.receivedAt = receivedAt
        self.futureLimit = limits.maxFutureSkew.wholeMilliseconds
        self.pastLimit = limits.maxPast?.wholeMilliseconds
    }

    /// Rejects a payload larger than ``TelemetryLimits/maxPayloadBytes``.
    public func checkPayloadSize(_ byteCount: Int) throws(TelemetryDecodingError) {
        guard byteCount <= limits.maxPayloadBytes else {
            throw .tooLarge(bytes: byteCount, limit: limits.maxPayloadBytes)
        }
    }

    /// Rejects a payload once it holds more than ``TelemetryLimits/maxSamplesPerMessage`` samples.
    @inline(__always)
    public func checkSampleCount(_ count: Int) throws(TelemetryDecodingError) {
        guard count <= limits.maxSamplesPerMessage else {
            throw .tooManyValues(count: count, limit: limits.maxSamplesPerMessage)
        }
    }

    /// Rejects a timestamp too far ahead of or behind ``receivedAt``.
    public func checkTimestamp(
        _ timestamp: Int64,
        at location: @autoclosure () -> TelemetryDecodingError.Location
    ) throws(TelemetryDecodingError) {
        let (ahead, overflow) = timestamp.subtractingReportingOverflow(receivedAt)
        if overflow ? timestamp > receivedAt : ahead > futureLimit {
            throw .timestampInFuture(
                timestamp: timestamp,
                receivedAt: receivedAt,
                allowedMilliseconds: futureLimit,
                location()
            )
        }
        if let pastLimit, overflow ? timestamp < receivedAt : -ahead > pastLimit {
            throw .timestampTooOld(
                timestamp: timestamp,
                receivedAt: receivedAt,
                allowedMilliseconds: pastLimit,
                location()
            )
        }
    }

    /// Validates a metric name, naming the place on failure. Names in the node's reserved
    /// namespaces (``ReservedMetricNames``, e.g. `anomaly:`) are refused: devices cannot write
    /// the detector's score series.
    public func metricName(
        _ raw: String,
        at location: @autoclosure () -> TelemetryDecodingError.Location
    ) throws(TelemetryDecodingError) -> MetricName {
        let name: MetricName
        do {
            name = try MetricName(validating: raw)
        } catch {
            throw .badMetricName(raw, reason: error.message, location())
        }
        if let prefix = ReservedMetricNames.reservedPrefix(of: raw) {
            throw .reservedMetricName(raw, prefix: prefix, location())
        }
        return name
    }
}
