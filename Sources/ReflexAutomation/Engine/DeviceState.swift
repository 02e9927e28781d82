public import ReflexCore

/// A device as the engine needs to know it: its type and labels (for rule scopes and fail-safe).
public struct DeviceInfo: Sendable, Hashable {
    public var id: DeviceID
    public var type: String
    public var labels: [String: String]

    public init(id: DeviceID, type: String, labels: [String: String] = [:]) {
        self.id = id
        self.type = type
        self.labels = labels
    }
}

/// What the engine knows about one device: latest values, windows, scores, data quality, status,
/// reporting cadence, fail-safe state.
struct DeviceState: Sendable {
    var info: DeviceInfo?
    var latest: [String: Double] = [:]
    /// The sample timestamp of each entry of `latest`.
    var latestAt: [String: Int64] = [:]
    var windows: [String: SeriesWindow] = [:]
    var anomaly: [String: Double] = [:]
    var quality: [String: Set<DataQualityEvent.Kind>] = [:]
    /// Whether any metric has an active data-quality condition that casts doubt on its values.
    var hasSuspectValues: Bool {
        quality.values.contains { kinds in kinds.contains { $0.makesValuesSuspect } }
    }
    var online: Bool?
    /// Engine time of the last telemetry.
    var lastTelemetryAt: Int64?
    /// Smoothed interval between telemetry batches (EWMA, α = 0.2), ms.
    var cadence: Double?
    var failSafe = FailSafeState()

    mutating func observe(_ batch: TelemetryBatch, at now: Int64, windowSpans: [String: Int64]) {
        if let last = lastTelemetryAt, now > last {
            let interval = Double(now - last)
            cadence = cadence.map { 0.8 * $0 + 0.2 * interval } ?? interval
        }
        lastTelemetryAt = now
        for sample in batch.samples {
            let metric = sample.metric.rawValue
            noteReading(metric, value: sample.value, at: sample.timestamp)
            if let span = windowSpans[metric] {
                windows[metric, default: SeriesWindow(span: span)].append(sample.timestamp, sample.value)
            }
        }
    }

    /// Makes `value` the latest reading of `metric` unless a newer one (by sample timestamp) is
    /// already known. Telemetry and the anomaly scores of the same samples reach the engine on
    /// separate streams, in either order; both carry the committed reading, so whichever comes
    /// first sets it and a rule fired by a score names the value that was scored.
    mutating func noteReading(_ metric: String, value: Double, at timestamp: Int64) {
        if let known = latestAt[metric], known > timestamp { return }
        latest[metric] = value
        latestAt[metric] = timestamp
    }
}

/// The evaluation context of one device at one instant.
struct DeviceContext: EvaluationContext {
    let state: DeviceState
    let device: DeviceID
    let alarms: AlarmBook
    let now: Int64
    /// Windows are anchored at the newest sample's time rather than the engine clock, so device
    /// timestamps and engine time need not agree.
    var isOnline: Bool { state.online ?? true }

    func latest(_ metric: String) -> Double? { state.latest[metric] }
    func anomalyScore(_ metric: String) -> Double? { state.anomaly[metric] }
    func hasQualityProblem(_ metric: String) -> Bool { !(state.quality[metric]?.isEmpty ?? true) }
    func isStale(_ metric: String) -> Bool {
        let kinds = state.quality[metric] ?? []
        return kinds.contains(.silence) || kinds.contains(.flatline)
    }
    func isAlarmOpen(_ type: String) -> Bool { alarms.openAlarm(device: device, type: type) != nil }
    func rate(_ metric: String, window: Int64) -> Double? {
        guard let w = state.windows[metric], let end = w.timestamps.last else { return nil }
        return w.rate(window: window, now: end)
    }
    func aggregate(_ kind: WindowAggregate, _ metric: String, window: Int64) -> Double? {
        guard let w = state.windows[metric], let end = w.timestamps.last else { return nil }
        return w.aggregate(kind, window: window, now: end)
    }
}
