/// Why a telemetry payload (JSON or line protocol) was rejected.
///
/// A payload is accepted or rejected whole: the first problem found ends decoding and no sample
/// of that payload is stored. ``description`` is the explanation for the dead-letter record and
/// the log ("line 3, byte 17: field 'usage' value 'abc' is not a number"); ``reasonLabel`` is a
/// bounded label for metrics.
public enum TelemetryDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Where in a payload a problem was found.
    public struct Location: Equatable, Sendable, CustomStringConvertible {
        /// 1-based line number (JSON payloads count lines too, for people who pretty-print).
        public var line: Int
        /// 0-based byte offset from the start of the payload.
        public var byte: Int

        /// A place: 1-based `line`, 0-based `byte` offset from the start of the payload.
        public init(line: Int, byte: Int) {
            self.line = line
            self.byte = byte
        }

        public var description: String { "line \(line), byte \(byte)" }
    }

    /// The payload has more bytes than ``TelemetryLimits/maxPayloadBytes``.
    case tooLarge(bytes: Int, limit: Int)
    /// The payload holds more than ``TelemetryLimits/maxSamplesPerMessage`` values; `count` is the
    /// number seen when decoding stopped (at least `limit + 1`).
    case tooManyValues(count: Int, limit: Int)
    /// The bytes are not valid JSON, or not the telemetry shape (`{"ts": ..., "values": {...}}`).
    case malformedJSON(Location, reason: String)
    /// A line does not follow the InfluxDB line protocol grammar.
    case malformedLine(Location, reason: String)
    /// A value is NaN or infinite (`NaN`, `Infinity`, or a literal such as `1e999` that
    /// overflows). `text` is the literal as sent.
    case notFinite(metric: String, text: String, Location)
    /// A value has a type Reflex does not store (a string, object or array).
    case wrongValueType(metric: String, found: String, Location)
    /// A metric name breaks ``MetricName``'s rules.
    case badMetricName(String, reason: String, Location)
    /// A metric name starts with a prefix reserved for the node (``ReservedMetricNames``, such
    /// as `anomaly:`, the detector's score series).
    case reservedMetricName(String, prefix: String, Location)
    /// A device id (from a line protocol tag) breaks ``DeviceID``'s rules.
    case badDeviceID(String, reason: String, Location)
    /// A line protocol line has no device tag and no default device was given.
    case missingDevice(Location)
    /// A timestamp could not be read (bad RFC 3339 text, out of range, not a number).
    case badTimestamp(text: String, reason: String, Location)
    /// A timestamp is further ahead of the receive time than ``TelemetryLimits/maxFutureSkew``.
    case timestampInFuture(timestamp: Int64, receivedAt: Int64, allowedMilliseconds: Int64, Location)
    /// A timestamp is further behind the receive time than ``TelemetryLimits/maxPast``.
    case timestampTooOld(timestamp: Int64, receivedAt: Int64, allowedMilliseconds: Int64, Location)

    /// A bounded label for metrics and dead-letter statistics (one per kind of problem).
    public var reasonLabel: String {
        switch self {
        case .tooLarge: "too_large"
        case .tooManyValues: "too_many_values"
        case .malformedJSON: "malformed_json"
        case .malformedLine: "malformed_line"
        case .notFinite: "not_finite"
        case .wrongValueType: "wrong_value_type"
        case .badMetricName: "bad_metric_name"
        case .reservedMetricName: "reserved_metric_name"
        case .badDeviceID: "bad_device_id"
        case .missingDevice: "missing_device"
        case .badTimestamp: "bad_timestamp"
        case .timestampInFuture, .timestampTooOld: "timestamp_skew"
        }
    }

    /// Where the problem was found, when it concerns one place of the payload.
    public var location: Location? {
        switch self {
        case .tooLarge, .tooManyValues: nil
        case .malformedJSON(let location, _), .malformedLine(let location, _): location
        case .notFinite(_, _, let location), .wrongValueType(_, _, let location): location
        case .badMetricName(_, _, let location), .badDeviceID(_, _, let location): location
        case .reservedMetricName(_, _, let location): location
        case .missingDevice(let location), .badTimestamp(_, _, let location): location
        case .timestampInFuture(_, _, _, let location), .timestampTooOld(_, _, _, let location): location
        }
    }

    public var description: String {
        switch self {
        case .tooLarge(let bytes, let limit):
            return "payload is \(bytes) bytes; at most \(limit) bytes are accepted in one message"
        case .tooManyValues(let count, let limit):
            return "payload has more than \(limit) values (stopped counting at \(count)); "
                + "split it into messages of at most \(limit) values"
        case .malformedJSON(let location, let reason), .malformedLine(let location, let reason):
            return "\(location): \(reason)"
        case .notFinite(let metric, let text, let location):
            return "\(location): value of '\(metric)' is \(text); only finite numbers are stored"
        case .wrongValueType(let metric, let found, let location):
            return "\(location): value of '\(metric)' is \(found); only numbers and booleans are stored"
        case .badMetricName(_, let reason, let location):
            return "\(location): \(reason)"
        case .reservedMetricName(let name, let prefix, let location):
            return "\(location): metric name '\(name)' starts with '\(prefix)', a prefix reserved for the "
                + "series the node writes itself (anomaly scores); rename the metric"
        case .badDeviceID(_, let reason, let location):
            return "\(location): \(reason)"
        case .missingDevice(let location):
            return "\(location): no 'device', 'device_id' or 'host' tag, and the request names no device"
        case .badTimestamp(let text, let reason, let location):
            return "\(location): timestamp '\(text)' \(reason)"
        case .timestampInFuture(let timestamp, let receivedAt, let allowed, let location):
            let (ahead, limit) = TimeText.spans(
                amount: timestamp.subtractingReportingOverflow(receivedAt).overflow ? .max : timestamp - receivedAt,
                limit: allowed
            )
            return "\(location): timestamp \(TimeText.rfc3339(milliseconds: timestamp)) is "
                + "\(ahead) ahead of the receive time; at most \(limit) is allowed"
        case .timestampTooOld(let timestamp, let receivedAt, let allowed, let location):
            // Seconds sent as milliseconds land in January 1970; say so when the value read as
            // seconds is within a year of the receive time.
            let (asMilliseconds, overflow) = timestamp.multipliedReportingOverflow(by: 1000)
            let looksLikeSeconds =
                !overflow
                && abs(asMilliseconds.subtractingReportingOverflow(receivedAt).partialValue) < 366 * 86_400_000
            let hint = looksLikeSeconds ? " (it looks like seconds; telemetry timestamps are milliseconds)" : ""
            let (behind, limit) = TimeText.spans(
                amount: receivedAt.subtractingReportingOverflow(timestamp).overflow ? .max : receivedAt - timestamp,
                limit: allowed
            )
            return "\(location): timestamp \(TimeText.rfc3339(milliseconds: timestamp)) is "
                + "\(behind) before the receive time; at most \(limit) is allowed\(hint)"
        }
    }
}
