import Foundation
import Logging
import NIOCore
import ReflexAutomation
import ReflexCore
import ReflexMQTT
import ReflexNode
import ReflexServer
import ReflexSimulator
import ServiceLifecycle
import Synchronization

/// The benchmark's eyes, independent of the engine's own bookkeeping: an MQTT subscriber with
/// an admin token on `devices/+/commands/+` that records every command as it reaches the devices
/// and checks the sending rule's interlocks against the simulator's *true* state at that moment;
/// and a reader of the node's automation and analytics streams (alarms, commands, fail-safes,
/// data-quality conditions, anomaly scores).
final class AutonomyProbe: Service, Sendable {
    let fleet: SimulatedFleet
    let automation: AutomationService
    let client: MQTTClient
    let anomalyThreshold: Double
    private let automationEvents: AsyncStream<AutomationNotice>
    private let analyticsEvents: AsyncStream<AnalyticsEvent>
    let observed = Mutex(AutonomyObservations())
    /// Command id → origin, from the automation stream.
    private let origins = Mutex<[String: String]>([:])
    /// Alarm episodes seen (id@raisedAt).
    private let raised = Mutex<Set<String>>([])

    init(
        fleet: SimulatedFleet,
        parts: NodeParts,
        brokerPort: Int,
        adminToken: String,
        anomalyThreshold: Double,
        logger: Logger
    ) {
        self.fleet = fleet
        self.automation = parts.automation
        self.anomalyThreshold = anomalyThreshold
        automationEvents = parts.events.automation.subscribe(bufferSize: 100_000)
        analyticsEvents = parts.events.analytics.subscribe(bufferSize: 100_000)
        var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: brokerPort, clientID: "bench-probe")
        configuration.username = "bench-probe"
        configuration.password = adminToken
        configuration.receiveBufferSize = 100_000
        client = MQTTClient(configuration: configuration, logger: logger)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { try? await self.client.run() }
                group.addTask { await self.watchCommands() }
                group.addTask {
                    for await notice in self.automationEvents { self.record(notice) }
                }
                group.addTask {
                    for await event in self.analyticsEvents { self.record(event) }
                }
            }
        }
        client.disconnect()
    }

    /// Subscribed once connected (before the fleet's first fault can fire a rule).
    func waitUntilSubscribed() async throws {
        try await client.waitUntilConnected()
        _ = try await client.subscribe(to: [SubscriptionRequest(filter: "devices/+/commands/+", qos: .atLeastOnce)])
    }

    private func watchCommands() async {
        for await message in client.messages {
            let levels = message.topic.split(separator: "/")
            guard levels.count == 4, levels[2] == "commands" else { continue }
            let device = String(levels[1])
            let name = String(levels[3])
            // The true state now, as close to the device's own arrival as an observer gets.
            let simulation = fleet.snapshot
            let at = NodeClock.systemMilliseconds()
            guard let payload = try? JSONDecoder().decode(Envelope.self, from: Data(message.payload.readableBytesView))
            else { continue }
            let origin =
                origins.withLock { $0[payload.id] } ?? automation.snapshot.commands.commands[payload.id]?.origin
            var violated: [String] = []
            if let origin, let rule = Self.ruleID(origin), let virtual = simulation.device(device),
                let record = automation.snapshot.rules[rule], let definition = record.rule
            {
                var truth = virtual.truth(at: simulation.now)
                truth["running"] = virtual.isRunning ? 1 : 0
                truth["failed"] = virtual.failure != nil ? 1 : 0
                let context = TruthContext(values: truth, now: at)
                for interlock in definition.interlocks {
                    var evaluator = ExpressionEvaluator()
                    if !evaluator.condition(interlock.expression, in: context) { violated.append(interlock.text) }
                }
            }
            observed.withLock {
                $0.arrivals.append(
                    AutonomyObservations.Arrival(
                        commandID: payload.id,
                        device: device,
                        name: name,
                        at: at,
                        origin: origin,
                        violatedInterlocks: violated
                    )
                )
            }
        }
    }

    static func ruleID(_ origin: String) -> RuleID? {
        guard origin.hasPrefix("rule:") else { return nil }
        return RuleID(validating: String(origin.dropFirst(5).prefix { $0 != "@" }))
    }

    private func record(_ notice: AutomationNotice) {
        switch notice {
        case .alarm(let alarm):
            guard alarm.rule != nil else { return }
            let isNew = raised.withLock { $0.insert("\(alarm.id)@\(alarm.raisedAt)").inserted }
            guard isNew else { return }
            add(.alarm, device: alarm.device, at: alarm.raisedAt, label: alarm.type)
        case .command(let command):
            let isNew = origins.withLock { origins in
                defer { origins[command.id] = command.origin }
                return origins[command.id] == nil
            }
            guard isNew else { return }
            if command.rule != nil {
                add(.ruleCommand, device: command.device, at: command.createdAt, label: command.name)
            } else if command.origin.hasPrefix("fail-safe") {
                add(.failSafe, device: command.device, at: command.createdAt, label: command.name)
            }
        case .audit:
            return
        }
    }

    private func record(_ event: AnalyticsEvent) {
        switch event {
        case .anomaly(let anomaly):
            guard anomaly.score >= anomalyThreshold, !anomaly.series.metric.rawValue.hasPrefix("anomaly:") else {
                return
            }
            add(
                .anomaly,
                device: anomaly.series.device,
                metric: anomaly.series.metric.rawValue,
                at: NodeClock.systemMilliseconds(),
                label: "anomaly"
            )
        case .dataQuality(let quality):
            guard quality.isActive else { return }
            add(
                .dataQuality,
                device: quality.series.device,
                metric: quality.series.metric.rawValue,
                at: NodeClock.systemMilliseconds(),
                label: "\(quality.kind)"
            )
        }
    }

    private func add(
        _ kind: AutonomyObservations.Signal.Kind,
        device: DeviceID,
        metric: String? = nil,
        at: Int64,
        label: String
    ) {
        observed.withLock {
            $0.signals.append(
                AutonomyObservations.Signal(kind: kind, device: device.rawValue, metric: metric, at: at, label: label)
            )
        }
    }

    private struct Envelope: Decodable { var id: String }
}

/// An ``EvaluationContext`` over the simulator's true values (no history: windows, rates and
/// scores have no value, so an interlock that needs them cannot be checked and counts as held).
struct TruthContext: EvaluationContext {
    let values: [String: Double]
    let now: Int64
    var isOnline: Bool { true }
    func latest(_ metric: String) -> Double? { values[metric] }
    func anomalyScore(_ metric: String) -> Double? { nil }
    func hasQualityProblem(_ metric: String) -> Bool { false }
    func isStale(_ metric: String) -> Bool { false }
    func isAlarmOpen(_ type: String) -> Bool { false }
    func rate(_ metric: String, window: Int64) -> Double? { nil }
    func aggregate(_ kind: WindowAggregate, _ metric: String, window: Int64) -> Double? { values[metric] }
}
