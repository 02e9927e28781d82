/// One measurement: a metric's value at an instant.
public struct Sample: Sendable, Hashable, Codable {
    public var metric: MetricName
    /// Milliseconds since the Unix epoch (UTC).
    public var timestamp: Int64
    /// A finite number; booleans arrive as 0 and 1.
    public var value: Double

    public init(metric: MetricName, timestamp: Int64, value: Double) {
        self.metric = metric
        self.timestamp = timestamp
        self.value = value
    }
}

/// Samples from one device, as decoded from one telemetry message or one write request.
public struct TelemetryBatch: Sendable, Hashable, Codable {
    public var device: DeviceID
    public var samples: [Sample]

    public init(device: DeviceID, samples: [Sample]) {
        self.device = device
        self.samples = samples
    }
}

/// Identifies one time series: a device's metric.
public struct SeriesKey: Sendable, Hashable, Codable, CustomStringConvertible {
    public var device: DeviceID
    public var metric: MetricName

    public init(device: DeviceID, metric: MetricName) {
        self.device = device
        self.metric = metric
    }

    public var description: String { "\(device)/\(metric)" }
}
