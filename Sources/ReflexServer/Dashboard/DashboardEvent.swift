import Foundation
public import ReflexAutomation
public import ReflexCore
public import ReflexNode

/// One message of the live dashboard feed (`GET /api/v1/events`), before it is written as a
/// server-sent event.
///
/// Each case names its SSE event (`event: telemetry`) and encodes its JSON `data:` line in the
/// shape of the API contract. A new kind of event (alarm, command, audit from the automation
/// stage) is one new case here, one line in ``name``, ``device`` and ``payload``, and one
/// subscription in `HTTPAPI+Events.swift`.
public enum DashboardEvent: Sendable, Hashable {
    /// Committed samples of one device.
    case telemetry(TelemetryBatch)
    /// A device went online or offline.
    case status(DeviceStatusChange)
    /// A detector scored a sample.
    case anomaly(AnomalyEvent)
    /// A data-quality condition started or ended.
    case dataQuality(DataQualityEvent)
    /// An alarm was raised, acknowledged, shelved, noted or cleared.
    case alarm(Alarm)
    /// A command changed state.
    case command(Command)
    /// The automation layer decided something (the audit trail).
    case audit(AuditEntry)

    /// The case for an analytics event.
    public init(_ event: AnalyticsEvent) {
        switch event {
        case .anomaly(let anomaly): self = .anomaly(anomaly)
        case .dataQuality(let quality): self = .dataQuality(quality)
        }
    }

    /// The case for an automation notice.
    public init(_ notice: AutomationNotice) {
        switch notice {
        case .alarm(let alarm): self = .alarm(alarm)
        case .command(let command): self = .command(command)
        case .audit(let entry): self = .audit(entry)
        }
    }

    /// The SSE event name.
    public var name: String {
        switch self {
        case .telemetry: "telemetry"
        case .status: "status"
        case .anomaly: "anomaly"
        case .dataQuality: "dataQuality"
        case .alarm: "alarm"
        case .command: "command"
        case .audit: "audit"
        }
    }

    /// The device the event is about (for the `?device=` filter); nil for node-wide decisions
    /// (the autonomy switch), which only unfiltered feeds receive.
    public var device: DeviceID? {
        switch self {
        case .telemetry(let batch): batch.device
        case .status(let change): change.device
        case .anomaly(let event): event.series.device
        case .dataQuality(let event): event.series.device
        case .alarm(let alarm): alarm.device
        case .command(let command): command.device
        case .audit(let entry): entry.device
        }
    }

    /// The JSON objects of the `data:` lines: one per event, except telemetry, which gives one
    /// object per distinct timestamp of the batch (`{"device","ts","values": {metric: value}}`).
    func payloads() -> [any Encodable & Sendable] {
        switch self {
        case .telemetry(let batch):
            var byTimestamp: [Int64: [String: Double]] = [:]
            for sample in batch.samples where sample.value.isFinite {
                byTimestamp[sample.timestamp, default: [:]][sample.metric.rawValue] = sample.value
            }
            return byTimestamp.keys.sorted().map { ts in
                TelemetryData(device: batch.device.rawValue, ts: ts, values: byTimestamp[ts] ?? [:])
            }
        case .alarm(let alarm): return [alarm]
        case .command(let command): return [command]
        case .audit(let entry): return [entry]
        case .status(let change):
            return [
                StatusData(
                    device: change.device.rawValue,
                    online: change.isOnline,
                    ts: change.timestamp,
                    reason: change.reason
                )
            ]
        case .anomaly(let event):
            let explanation = event.anomaly.explanation
            return [
                AnomalyData(
                    device: event.series.device.rawValue,
                    metric: event.series.metric.rawValue,
                    ts: event.timestamp,
                    value: event.value.isFinite ? event.value : nil,
                    score: event.score.isFinite ? event.score : nil,
                    expected: explanation.expected.flatMap { $0.isFinite ? $0 : nil },
                    lower: explanation.lower.flatMap { $0.isFinite ? $0 : nil },
                    upper: explanation.upper.flatMap { $0.isFinite ? $0 : nil },
                    component: explanation.component
                )
            ]
        case .dataQuality(let event):
            return [
                DataQualityData(
                    device: event.series.device.rawValue,
                    metric: event.series.metric.rawValue,
                    kind: event.kind.rawValue,
                    ts: event.timestamp,
                    active: event.isActive,
                    detail: event.detail
                )
            ]
        }
    }

    /// The event as SSE frames (`event: NAME\ndata: JSON\n\n`), ready to write.
    public func serverSentEvents() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for payload in payloads() {
            // The payloads are plain structs of strings and finite numbers: encoding cannot fail.
            guard let data = try? encoder.encode(payload) else { continue }
            text += "event: \(name)\ndata: \(String(decoding: data, as: UTF8.self))\n\n"
        }
        return text
    }
}

// MARK: - JSON shapes of the contract

private struct TelemetryData: Encodable, Sendable {
    var device: String
    var ts: Int64
    var values: [String: Double]
}

private struct StatusData: Encodable, Sendable {
    var device: String
    var online: Bool
    var ts: Int64
    var reason: String
}

private struct AnomalyData: Encodable, Sendable {
    var device: String
    var metric: String
    var ts: Int64
    var value: Double?
    var score: Double?
    var expected: Double?
    var lower: Double?
    var upper: Double?
    var component: String

    enum CodingKeys: String, CodingKey { case device, metric, ts, value, score, expected, lower, upper, component }

    // Absent numbers are written as null, as the contract shows them.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(device, forKey: .device)
        try container.encode(metric, forKey: .metric)
        try container.encode(ts, forKey: .ts)
        try container.encode(value, forKey: .value)
        try container.encode(score, forKey: .score)
        try container.encode(expected, forKey: .expected)
        try container.encode(lower, forKey: .lower)
        try container.encode(upper, forKey: .upper)
        try container.encode(component, forKey: .component)
    }
}

private struct DataQualityData: Encodable, Sendable {
    var device: String
    var metric: String
    var kind: String
    var ts: Int64
    var active: Bool
    var detail: String
}
