/// Decodes the JSON telemetry format of `devices/{id}/telemetry` into a ``TelemetryBatch``.
///
/// The format (ARCHITECTURE.md, "Wire conventions"):
/// ```json
/// {"ts": 1764145200123, "values": {"temperature": 71.2, "running": true}}
/// [{"ts": "2025-11-26T08:20:00.123Z", "values": {"temperature": 71.2}}, {"values": {"rpm": 1450}}]
/// ```
/// - `ts`: milliseconds since the Unix epoch, an integer or a float (fractions of a millisecond
///   are rounded down), or an RFC 3339 string with an offset (`Z`, `+01:00`) and optional
///   fractional seconds. Optional: without it, or when it is `null`, the samples get the receive
///   time.
/// - `values`: required; an object from metric name (``MetricName`` rules) to a number or a
///   boolean (`true` is 1, `false` is 0). Integers beyond 2^53 are rounded to the nearest `Double`.
///   A `null` value means "no reading": that metric is skipped, the rest of the message is kept.
///   Strings, objects and arrays are rejected naming the metric.
/// - Other keys in a telemetry object are rejected (a typo such as `"value"` must not silently
///   drop data), and so is the same key twice: a metric that appears twice in one `values` object
///   (two readings for one series and instant) is ambiguous, so it is rejected rather than
///   resolved as "last wins".
/// - Non-finite numbers: JSON has none, but some encoders write `NaN`, `Infinity` or
///   `-Infinity`; they are recognised and rejected as `not_finite`, as is a literal that overflows
///   (`1e999`).
///
/// The message is accepted or rejected whole. The parser is strict RFC 8259 (number grammar,
/// string escapes including `\uXXXX` surrogate pairs, no trailing commas, nothing after the
/// value) and specialised for this shape: one pass, no intermediate tree, no allocation per value
/// for metric names up to 15 bytes.
public enum JSONTelemetryDecoder {
    /// Decodes one telemetry message.
    /// - Parameters:
    ///   - bytes: the payload, UTF-8 JSON.
    ///   - device: the device that sent it (from the topic).
    ///   - receivedAt: when it arrived, in milliseconds since the Unix epoch.
    ///   - limits: size, count and timestamp bounds.
    /// - Returns: the samples, in payload order, as one batch for `device`.
    /// - Throws: ``TelemetryDecodingError`` for the first problem found.
    public static func decode(
        _ bytes: some Collection<UInt8>,
        device: DeviceID,
        receivedAt: Int64,
        limits: TelemetryLimits = .default
    ) throws(TelemetryDecodingError) -> TelemetryBatch {
        let validator = TelemetryValidator(limits: limits, receivedAt: receivedAt)
        try validator.checkPayloadSize(bytes.count)
        let decodeBuffer = { (buffer: UnsafeBufferPointer<UInt8>) -> Result<[Sample], TelemetryDecodingError> in
            Result { () throws(TelemetryDecodingError) in
                var scanner = JSONTelemetryScanner(bytes: buffer, validator: validator)
                return try scanner.samples()
            }
        }
        let result =
            bytes.withContiguousStorageIfAvailable(decodeBuffer)
            ?? Array(bytes).withUnsafeBufferPointer(decodeBuffer)
        return TelemetryBatch(device: device, samples: try result.get())
    }
}
