import Foundation
public import Logging
public import ReflexAutomation
public import ReflexCore
import ReflexMQTT
public import ReflexStore
public import ServiceLifecycle
import Synchronization

/// Runs the automation engine in a node: feeds it committed telemetry, device status, analytics
/// events, command acks and clock ticks; executes what it decides (commands published through the
/// broker, alarms/commands/audit persisted in an ``AutomationStateStore`` and announced on
/// ``NodeEvents/automation``, webhooks POSTed); loads the rules directory and reloads it on change.
///
/// Operator actions (HTTP API) go through the same engine, under the same lock, so rules and
/// people see one consistent state.
///
/// ```swift
/// let (acks, ackInput) = AsyncStream.makeStream(of: ReceivedCommandAck.self, bufferingPolicy: .bufferingNewest(10_000))
/// let interceptor = CommandAckInterceptor(base: ingestor, continuation: ackInput)
/// let broker = MQTTBroker(..., interceptor: interceptor, ...)
/// let automation = AutomationService(store: stores.automation, events: events,
///     publisher: broker, devices: registry, acks: acks, configuration: config, rulesDirectory: dir + "/rules", logger: logger)
/// // add `automation` to the ServiceGroup after the broker
/// ```
///
/// Latency: ``decisionLatencies`` keeps the last 10,000 telemetry-to-command times (from the
/// batch reaching the service to the command's publish returning); ``decisionLatencySummary``
/// gives p50/p99, also served on `GET /api/v1/automation/stats`.
public final class AutomationService: Service, Sendable {
    public let store: AutomationRecords
    let engine: Mutex<AutomationEngine>
    let events: NodeEvents
    let publisher: any CommandPublisher
    let devices: (any DeviceDirectory)?
    let queries: (any SampleQuerying)?
    let configuration: AutomationConfiguration
    /// Where rule files are read from.
    public let rulesDirectory: String
    let logger: Logger
    let now: @Sendable () -> Int64
    let acks: AsyncStream<ReceivedCommandAck>
    let telemetry: AsyncStream<CommittedTelemetry>
    let statuses: AsyncStream<DeviceStatusChange>
    let analytics: AsyncStream<AnalyticsEvent>
    let persist: (stream: AsyncStream<[AutomationAction]>, continuation: AsyncStream<[AutomationAction]>.Continuation)
    let webhooks: (stream: AsyncStream<AutomationAction>, continuation: AsyncStream<AutomationAction>.Continuation)
    let latencies = Mutex(LatencyRecorder(capacity: 10_000))
    /// Where the time of each telemetry-triggered command went, stage by stage.
    let breakdown = Mutex(DecisionTimingRecorder(capacity: 10_000))
    /// Decisions by outcome and commands by final state, for `/metrics`.
    public let counters = AutomationCounters()
    /// Beats once per engine tick (``AutomationConfiguration/tickInterval``), for `/health`.
    public var heartbeat: Heartbeat { tickHeartbeat }
    private let tickHeartbeat: Heartbeat
    let ruleFileErrors = Mutex<[String: [RuleError]]>([:])
    let unknownDevices = Mutex<[DeviceID: Int64]>([:])
    /// Paces the tick and the rule-file poll.
    let clock: any Clock<Duration>

    /// - Parameters:
    ///   - store: the automation database.
    ///   - events: the node's streams (subscribed here, so create the service before producers start).
    ///   - publisher: publishes command messages (the embedded broker).
    ///   - devices: the registry, for device types and labels (rule scopes, fail-safe).
    ///   - queries: the sample store, to learn which metrics exist (validation) at startup.
    ///   - acks: the stream a ``CommandAckInterceptor`` feeds.
    ///   - configuration: see ``AutomationConfiguration``.
    ///   - rulesDirectory: where rule files are (created if missing).
    ///   - now: the wall clock in ms since the epoch (a parameter for tests).
    ///   - clock: paces the engine's tick and the rule-file poll (default: `ContinuousClock`).
    ///   - logger: the service's logger.
    public init(
        store: any AutomationStateStore,
        events: NodeEvents,
        publisher: any CommandPublisher,
        devices: (any DeviceDirectory)?,
        queries: (any SampleQuerying)? = nil,
        acks: AsyncStream<ReceivedCommandAck>,
        configuration: AutomationConfiguration = AutomationConfiguration(),
        rulesDirectory: String,
        now: (@Sendable () -> Int64)? = nil,
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) {
        self.clock = clock
        let now = now ?? NodeClock.system.now
        self.store = AutomationRecords(rows: store, now: now)
        self.events = events
        self.publisher = publisher
        self.devices = devices
        self.queries = queries
        self.acks = acks
        self.configuration = configuration
        self.rulesDirectory = rulesDirectory
        self.logger = logger
        self.now = now
        let ackTimeout = configuration.ackTimeout.components
        tickHeartbeat = Heartbeat(interval: configuration.tickInterval)
        engine = Mutex(
            AutomationEngine(
                failSafes: configuration.failSafes,
                ackTimeout: ackTimeout.seconds * 1000 + ackTimeout.attoseconds / 1_000_000_000_000_000,
                maxAttempts: configuration.maxAttempts
            )
        )
        telemetry = events.telemetry.subscribe(bufferSize: 100_000)
        statuses = events.deviceStatus.subscribe(bufferSize: 10_000)
        analytics = events.analytics.subscribe(bufferSize: 100_000)
        persist = AsyncStream.makeStream(of: [AutomationAction].self, bufferingPolicy: .bufferingOldest(100_000))
        webhooks = AsyncStream.makeStream(of: AutomationAction.self, bufferingPolicy: .bufferingOldest(1_000))
    }

    // MARK: - Engine access

    /// Runs `body` on the engine under its lock and queues the actions it returns for
    /// persistence, in decision order. Returns the body's result and the actions.
    func withEngine<T>(
        _ body: (inout AutomationEngine, Int64) throws(AutomationError) -> (T, [AutomationAction])
    ) throws(AutomationError) -> (T, [AutomationAction]) {
        let time = now()
        let result: Result<(T, [AutomationAction]), AutomationError> = engine.withLock { engine in
            do throws(AutomationError) {
                let (value, actions) = try body(&engine, time)
                if !actions.isEmpty { persist.continuation.yield(actions) }
                return .success((value, actions))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// ``withEngine(_:)`` for bodies that cannot fail.
    func update<T>(_ body: (inout AutomationEngine, Int64) -> (T, [AutomationAction])) -> (T, [AutomationAction]) {
        let time = now()
        return engine.withLock { engine in
            let (value, actions) = body(&engine, time)
            if !actions.isEmpty { persist.continuation.yield(actions) }
            return (value, actions)
        }
    }

    /// Feeds one event and executes the resulting publishes; returns when they are published.
    func handle(
        _ event: AutomationEvent,
        startedAt: ContinuousClock.Instant? = nil,
        timing: DecisionTiming? = nil
    )
        async
    {
        let ((), actions) = update { (engine: inout AutomationEngine, time: Int64) in
            ((), engine.handle(event, at: time))
        }
        var timing = timing
        timing?.decidedAt = .now
        await perform(actions, startedAt: startedAt, timing: timing)
    }

    /// Publishes the commands among `actions`, reports each publish back to the engine, and hands
    /// webhooks to their worker.
    func perform(
        _ actions: [AutomationAction],
        startedAt: ContinuousClock.Instant? = nil,
        timing: DecisionTiming? = nil
    ) async {
        for action in actions {
            switch action {
            case .publish(let command):
                let message = CommandMessage(id: command.id, params: command.params, expiresAt: command.expiresAt)
                let payload = (try? JSONEncoder().encode(message)).map { Array($0) } ?? []
                do {
                    let subscribers = try await publisher.publish(
                        topic: DeviceTopic.command(command.device, name: command.name).topic,
                        payload: payload,
                        qos: .atLeastOnce,
                        retain: false
                    )
                    let publishedAt = ContinuousClock.now
                    if let startedAt {
                        latencies.withLock { $0.record(publishedAt - startedAt) }
                    }
                    if let timing {
                        breakdown.withLock { $0.record(timing, publishedAt: publishedAt) }
                    }
                    await handle(.commandPublished(id: command.id, subscribers: subscribers))
                } catch {
                    logger.warning(
                        "Publishing a command failed; it will be retried",
                        metadata: [
                            "command.id": "\(command.id)", "device.id": "\(command.device)", "error": "\(error)",
                        ]
                    )
                }
            case .publishDesired(let device, let values):
                let payload = (try? JSONEncoder().encode(["values": JSONValue.object(values)])).map { Array($0) } ?? []
                do {
                    _ = try await publisher.publish(
                        topic: "devices/\(device)/desired",
                        payload: payload,
                        qos: .atLeastOnce,
                        retain: true
                    )
                } catch {
                    logger.warning(
                        "Publishing a desired state failed",
                        metadata: ["device.id": "\(device)", "error": "\(error)"]
                    )
                }
            case .webhook:
                if case .dropped = webhooks.continuation.yield(action) {
                    logger.error("Webhook queue full; a webhook was dropped", metadata: [:])
                }
            default: continue
            }
        }
    }

    // MARK: - Rules from code

    /// Loads rules (and `failsafe:` policies) from YAML text as if it were a file of the rules
    /// directory named `file` (e.g. `demo/default.yaml`); replaces what that file had before.
    /// For built-in rule sets such as `reflex serve --demo`. Returns the problems, if any.
    @discardableResult
    public func loadRules(_ text: String, file: String) -> [RuleError] {
        let (errors, _) = update { (engine: inout AutomationEngine, time: Int64) in
            engine.loadFile(file, text: text, at: time)
        }
        return errors
    }

    // MARK: - System alarms

    /// Raises an alarm on behalf of the node itself (not a rule), such as a series limit that
    /// refused a device's samples; it is persisted, audited as `system` and shown in
    /// `GET /api/v1/alarms` like any other. One open alarm per (device, type): while it is open,
    /// raising it again does nothing. Returns whether a new alarm was raised.
    @discardableResult
    public func raiseSystemAlarm(device: DeviceID, type: String, severity: AlarmSeverity, message: String) -> Bool {
        let (raised, _) = update { (engine: inout AutomationEngine, time: Int64) in
            let actions = engine.raiseAlarm(device: device, type: type, severity: severity, message: message, at: time)
            return (!actions.isEmpty, actions)
        }
        return raised
    }

    // MARK: - Observing

    /// The last (up to 10,000) telemetry-to-command latencies, oldest first.
    public var decisionLatencies: [Duration] { latencies.withLock { $0.values } }

    /// p50/p99 of ``decisionLatencies`` in microseconds, and how many there are.
    public var decisionLatencySummary: (count: Int, p50: Double?, p99: Double?) {
        latencies.withLock { ($0.values.count, $0.percentile(0.5), $0.percentile(0.99)) }
    }

    /// A copy of the engine's state, for reads (alarms, commands, rules, overrides).
    public var snapshot: AutomationEngine { engine.withLock { $0 } }

    /// Where the time of the recorded telemetry-to-command decisions went (see ``DecisionTimingSummary``).
    public var decisionTimingSummary: DecisionTimingSummary { breakdown.withLock { $0.summary } }

    /// The errors of each rules file at its last load.
    public var rulesFileErrors: [String: [RuleError]] { ruleFileErrors.withLock { $0 } }
}

/// The last N latencies, for percentiles.
struct LatencyRecorder: Sendable {
    var values: [Duration] = []
    var capacity: Int
    private var next = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func record(_ value: Duration) {
        if values.count < capacity {
            values.append(value)
        } else {
            values[next] = value
            next = (next + 1) % capacity
        }
    }

    /// The percentile `p` (0...1) in microseconds.
    func percentile(_ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
        let c = sorted[max(0, index)].components
        return Double(c.seconds) * 1_000_000 + Double(c.attoseconds) / 1_000_000_000_000
    }
}
