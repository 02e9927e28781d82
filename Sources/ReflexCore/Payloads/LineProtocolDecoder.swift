/// Decodes InfluxDB line protocol (as Telegraf and many gateways send it) into telemetry batches.
///
/// ```text
/// cpu,cpu=cpu0,host=press-4 usage_idle=99.5,usage_user=0.25 1700000000000000000
/// ```
/// Grammar (InfluxDB line protocol reference):
/// `measurement[,tag=value...] field=value[,field=value...] [timestamp]`, one point per line;
/// `\n` or `\r\n` line ends; blank lines and lines starting with `#` are skipped. Escapes: `\,`,
/// `\=`, `\ ` and `\\` in measurements, tag keys, tag values and field keys; `\"` and `\\` in
/// string field values; a backslash before any other character is itself.
///
/// Mapping to Reflex:
/// - Device: the tag `device`, else `device_id`, else `host` (the tag Telegraf adds), whichever
///   comes first in that order regardless of tag order; a line with none of them belongs to
///   `defaultDevice` (the device of the MQTT topic or HTTP request); with neither, the request is
///   rejected naming the line. Whether the resulting devices are allowed for the sender is the
///   caller's decision (over MQTT a device may only write its own series).
/// - Metric: `<measurement>.<field key>`, validated as a ``MetricName`` (`cpu.usage_idle`).
///   Other tags are ignored: lines that differ only in those tags (Telegraf's `cpu=cpu0` and
///   `cpu=cpu1`) map to the same series.
/// - Values: floats (`1.5`, `-3e2`), integers (`42i`), unsigned integers (`42u`) and booleans
///   (`t`, `T`, `true`, `True`, `TRUE`, `f`, `F`, `false`, `False`, `FALSE`; stored as 1 and 0)
///   become samples. String fields (`"..."`) are not numbers: they are skipped and counted in
///   ``Output/skippedStringFields``. `NaN`, `Inf` and literals that overflow are rejected.
///   A field key repeated within one line is rejected, as in ``JSONTelemetryDecoder``.
/// - Time: the timestamp is in `precision` units and is converted to milliseconds (rounded
///   down); a line without one gets the receive time.
///
/// As InfluxDB's write API answers 400 for the whole request on a parse error, one bad line
/// rejects the whole payload: nothing of it is stored, and the error names the line.
public enum LineProtocolDecoder {
    /// The unit of line protocol timestamps (InfluxDB's `precision` parameter).
    public enum Precision: String, Sendable, CaseIterable {
        case nanoseconds = "ns"
        case microseconds = "us"
        case milliseconds = "ms"
        case seconds = "s"
    }

    /// What a payload decoded to.
    public struct Output: Sendable, Equatable {
        /// One batch per device, in order of first appearance; samples in line order.
        public var batches: [TelemetryBatch]
        /// String fields skipped (Reflex stores numbers only).
        public var skippedStringFields: Int

        /// An output with these batches and count.
        public init(batches: [TelemetryBatch], skippedStringFields: Int) {
            self.batches = batches
            self.skippedStringFields = skippedStringFields
        }
    }

    /// Tags that name the device, in order of precedence.
    public static let deviceTags = ["device", "device_id", "host"]

    /// Decodes a line protocol payload.
    /// - Parameters:
    ///   - bytes: the payload, UTF-8.
    ///   - defaultDevice: the device of lines without a device tag; nil to require the tag.
    ///   - precision: the unit of the timestamps (default nanoseconds, as InfluxDB).
    ///   - receivedAt: when the payload arrived, in milliseconds since the Unix epoch.
    ///   - limits: size, count and timestamp bounds; the sample limit counts all lines.
    /// - Throws: ``TelemetryDecodingError`` for the first problem found.
    public static func decode(
        _ bytes: some Collection<UInt8>,
        defaultDevice: DeviceID?,
        precision: Precision = .nanoseconds,
        receivedAt: Int64,
        limits: TelemetryLimits = .default
    ) throws(TelemetryDecodingError) -> Output {
        let validator = TelemetryValidator(limits: limits, receivedAt: receivedAt)
        try validator.checkPayloadSize(bytes.count)
        let decodeBuffer = { (buffer: UnsafeBufferPointer<UInt8>) -> Result<Output, TelemetryDecodingError> in
            Result { () throws(TelemetryDecodingError) in
                var scanner = LineProtocolScanner(
                    bytes: buffer,
                    defaultDevice: defaultDevice,
                    precision: precision,
                    validator: validator
                )
                return try scanner.output()
            }
        }
        let result =
            bytes.withContiguousStorageIfAvailable(decodeBuffer)
            ?? Array(bytes).withUnsafeBufferPointer(decodeBuffer)
        return try result.get()
    }
}
