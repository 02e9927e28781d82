/// Metric name prefixes that belong to the node: devices may not write series named with them.
///
/// Live detection stores every score as the series `anomaly:<metric>` of the scored device. A
/// device that wrote `anomaly:temperature` itself would forge those scores (and the dashboard,
/// rules and the fleet view would trust them), so the telemetry codecs refuse such names, over
/// MQTT and HTTP alike, with ``TelemetryDecodingError/reservedMetricName(_:prefix:_:)``.
public enum ReservedMetricNames {
    /// Every reserved prefix. Today only `anomaly:` (detection's score series).
    public static let prefixes: [String] = ["anomaly:"]

    /// The reserved prefix `name` starts with, if any.
    /// - Complexity: O(prefixes × prefix length); no allocation.
    @inline(__always)
    public static func reservedPrefix(of name: String) -> String? {
        // Every reserved prefix ends with ':'; a name without one is never reserved, which
        // keeps the common case to one scan of the name's bytes.
        guard name.utf8.contains(UInt8(ascii: ":")) else { return nil }
        return prefixes.first { name.utf8.starts(with: $0.utf8) }
    }

    /// Whether `metric` is one of the node's own series.
    public static func isReserved(_ metric: MetricName) -> Bool {
        reservedPrefix(of: metric.rawValue) != nil
    }
}
