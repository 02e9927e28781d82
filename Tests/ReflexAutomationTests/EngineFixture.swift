import ReflexAutomation
import ReflexCore

/// An engine with two pumps and a mock clock (`now`), collecting every action.
struct EngineFixture {
    var engine: AutomationEngine
    var now: Int64 = 1_000_000
    var actions: [AutomationAction] = []

    static let pump1 = DeviceID(unchecked: "pump-1")
    static let pump2 = DeviceID(unchecked: "pump-2")

    init(rules: String, failSafes: [FailSafePolicy] = [], ackTimeout: Int64 = 10_000) {
        engine = AutomationEngine(failSafes: failSafes, ackTimeout: ackTimeout)
        engine.setDevices([
            DeviceInfo(id: Self.pump1, type: "pump", labels: ["site": "lyon"]),
            DeviceInfo(id: Self.pump2, type: "pump", labels: ["site": "paris"]),
        ])
        let (errors, _) = engine.loadFile("rules/test.yaml", text: rules, at: now)
        precondition(errors.isEmpty, "\(errors)")
    }

    mutating func send(_ values: [String: Double], device: DeviceID = Self.pump1) {
        let samples = values.map { Sample(metric: MetricName(unchecked: $0.key), timestamp: now, value: $0.value) }
        actions += engine.handle(.telemetry(TelemetryBatch(device: device, samples: samples)), at: now)
    }

    /// Feeds the detector's verdict on one sample of `metric` (by default one taken now).
    mutating func score(
        _ metric: String,
        value: Double,
        score: Double,
        at timestamp: Int64? = nil,
        device: DeviceID = Self.pump1
    ) {
        let series = SeriesKey(device: device, metric: MetricName(unchecked: metric))
        let explanation = AnomalyExplanation(expected: 0, lower: -1, upper: 1, component: "seasonal", deviation: 6)
        let anomaly = AnomalyScore(score: score, explanation: explanation)
        let event = AnomalyEvent(series: series, timestamp: timestamp ?? now, value: value, anomaly: anomaly)
        actions += engine.handle(.analytics(.anomaly(event)), at: now)
    }

    mutating func advance(_ ms: Int64) {
        now += ms
        actions += engine.handle(.tick, at: now)
    }

    mutating func take() -> [AutomationAction] {
        defer { actions = [] }
        return actions
    }

    var audits: [AuditEntry] { actions.compactMap { if case .audit(let a) = $0 { a } else { nil } } }
    var decisions: [AuditDecision] { audits.map(\.decision) }
    var published: [Command] { actions.compactMap { if case .publish(let c) = $0 { c } else { nil } } }
    var openAlarms: [Alarm] { Array(engine.alarms.open.values) }
}

extension DeviceID {
    /// A device id from a literal known to be valid (tests only).
    init(unchecked text: String) {
        do { try self.init(validating: text) } catch { preconditionFailure("bad test id \(text): \(error)") }
    }
}

extension MetricName {
    /// A metric name from a literal known to be valid (tests only).
    init(unchecked text: String) {
        do { try self.init(validating: text) } catch { preconditionFailure("bad test metric \(text): \(error)") }
    }
}
