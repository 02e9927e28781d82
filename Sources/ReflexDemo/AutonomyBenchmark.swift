import Foundation
public import Logging
import ReflexAutomation
import ReflexCore
import ReflexMQTT
package import ReflexSimulator
import ReflexStore
import ServiceLifecycle
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
package import ReflexNode
import ReflexServer
#endif

/// `reflex bench autonomy`: a real node (temporary data directory, the embedded broker on
/// loopback TCP, automation with the demo rules, detection when the node has it) and the
/// simulator's devices as real MQTT clients with registered tokens; the seeded faults are
/// injected, a few devices are put in manual override through the HTTP API, and an independent
/// probe watches what reaches the devices. ``run()`` returns the ``AutonomyReport``.
///
/// Time: `speed` accelerates the simulator's physics and fault schedule only. Rule durations
/// (`for`, windows, cooldown), command time-outs, staleness and the benchmark's own duration are
/// wall-clock time.
public struct AutonomyBenchmark: Sendable {
    /// What to run.
    public struct Configuration: Sendable {
        public var devices = 50
        /// Wall time over which the faults start.
        public var duration: Duration = .seconds(600)
        public var faults = 40
        public var seed: UInt64 = 1
        /// Simulated seconds per wall second.
        public var speed: Double = 1
        /// How many devices with a physical fault are put in manual override for the whole run.
        public var overrides = 2
        /// After `duration`, wait at most this long (wall) for every physical fault to fail or be
        /// mitigated; default: 25 simulated minutes, the longest unmitigated horizon.
        public var drain: Duration?
        /// An anomaly score at or above this counts as a detection.
        public var anomalyThreshold = 0.9
        /// Where progress lines go.
        public var progress: @Sendable (String) -> Void = { print($0) }
        /// Faults in addition to the seeded schedule (tests).
        package var extraFaults: [ScheduledFault] = []
        /// Called at the end, before the node stops (tests look at the audit log through it).
        package var inspect: (@Sendable (AutonomyBenchmarkHandles) async -> Void)?
        public init() {}
    }

    public let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the benchmark and returns its report. Throws if the node cannot start.
    package func run() async throws -> AutonomyReport {
        let settings = configuration
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("reflex-bench-autonomy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let mqttPort = try FreePort.find()
        let httpPort = try FreePort.find()

        var node = NodeConfiguration()
        node.dataDirectory = directory
        node.logLevel = .warning
        node.mqtt.tcp = .init(host: "127.0.0.1", port: mqttPort)
        node.http.listen = .init(host: "127.0.0.1", port: httpPort)
        node.automation.builtInRules[DemoRules.fileLabel] = DemoRules.text

        let registry = try StoreBackend.openSQLiteRegistry(directory: directory)
        let plan = FleetPlan.devices(count: settings.devices)
        let tokens = try await SimulatedDeviceRegistration.register(plan, in: registry).tokens
        let (_, adminToken) = try await registry.createOperatorToken(name: "bench", role: .admin)

        let window = seconds(settings.duration) * settings.speed
        let schedule =
            FaultSchedule.make(
                count: settings.faults,
                window: window,
                deviceIDs: plan.map(\.id),
                seed: settings.seed
            ) + settings.extraFaults
        // Override devices: the first devices with a physical fault, so rules would want to act.
        var overridden: [String] = []
        for fault in schedule where fault.kind.isPhysical && !overridden.contains(fault.deviceID) {
            guard overridden.count < settings.overrides else { break }
            overridden.append(fault.deviceID)
        }
        var fleetConfiguration = SimulatedFleetConfiguration(devices: plan)
        fleetConfiguration.seed = settings.seed
        fleetConfiguration.brokerPort = mqttPort
        fleetConfiguration.credentials = tokens
        fleetConfiguration.timeScale = settings.speed
        fleetConfiguration.schedule = schedule
        let quiet = {
            var logger = logger
            logger.logLevel = .warning
            return logger
        }()
        let fleet = SimulatedFleet(configuration: fleetConfiguration, logger: quiet)

        let probeBox = ProbeBox()
        let nodeService = Node(
            configuration: node,
            logger: quiet,
            announceAdminToken: { _ in },
            attach: { parts in
                let probe = AutonomyProbe(
                    fleet: fleet,
                    parts: parts,
                    brokerPort: mqttPort,
                    adminToken: adminToken,
                    anomalyThreshold: settings.anomalyThreshold,
                    logger: quiet
                )
                probeBox.set(probe)
                return [.init(service: probe, serviceName: "bench-probe")]
            }
        )
        let kinds = Dictionary(grouping: schedule, by: \.kind).map { "\($0.value.count) \($0.key)" }.sorted()
        settings.progress(
            "bench autonomy: \(plan.count) devices, \(schedule.count) faults (\(kinds.joined(separator: ", "))) over "
                + "\(Int(seconds(settings.duration))) s wall = \(Int(window)) s simulated (speed ×\(settings.speed)), "
                + "seed \(settings.seed); overrides on \(overridden.joined(separator: ", "))"
        )

        // Each in its own group, so that the end is a graceful shutdown: the fleet first, then the node.
        let nodeGroup = ServiceGroup(configuration: .init(services: [.init(service: nodeService)], logger: quiet))
        let fleetGroup = ServiceGroup(configuration: .init(services: [.init(service: fleet)], logger: quiet))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await nodeGroup.run() }
            let probe = try await probeBox.wait()
            try await probe.waitUntilSubscribed()
            try await setOverrides(overridden, port: httpPort, token: adminToken)
            group.addTask { try await fleetGroup.run() }

            let clock = ContinuousClock()
            let start = clock.now
            let drain = settings.drain ?? .seconds(25 * 60 / settings.speed)
            var lastLine = start
            while true {
                try await clock.sleep(for: .seconds(1))
                let elapsed = clock.now - start
                let log = fleet.faultLog
                let unresolved = log.filter { $0.record.kind.isPhysical && $0.record.outcome == .running }.count
                let scheduleDone = elapsed >= settings.duration && log.count >= schedule.count
                if scheduleDone && (unresolved == 0 || elapsed >= settings.duration + drain) { break }
                if clock.now - lastLine >= .seconds(10) {
                    lastLine = clock.now
                    settings.progress(progressLine(elapsed: elapsed, log: log, probe: probe))
                }
            }
            let observations = collect(fleet: fleet, probe: probe, overridden: Set(overridden))
            await settings.inspect?(
                AutonomyBenchmarkHandles(
                    automation: probe.automation,
                    fleet: fleet,
                    httpPort: httpPort,
                    adminToken: adminToken
                )
            )
            await fleetGroup.triggerGracefulShutdown()
            await nodeGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            return AutonomyReport(observations)
        }
    }

    private func progressLine(elapsed: Duration, log: [FaultLogEntry], probe: AutonomyProbe) -> String {
        let (signals, arrivals) = probe.observed.withLock { ($0.signals, $0.arrivals.count) }
        let count = { (test: (FaultRecord.Outcome) -> Bool) in log.filter { test($0.record.outcome) }.count }
        let failed = count { if case .failed = $0 { true } else { false } }
        let mitigated = count { if case .mitigated = $0 { true } else { false } }
        return "t=\(Int(seconds(elapsed)))s: \(log.count) faults started, \(mitigated) mitigated, \(failed) failed; "
            + "\(signals.filter { $0.kind == .alarm }.count) alarms, "
            + "\(signals.filter { $0.kind == .ruleCommand }.count) rule commands, "
            + "\(signals.filter { $0.kind == .failSafe }.count) fail-safes, \(arrivals) commands delivered"
    }

    private func collect(fleet: SimulatedFleet, probe: AutonomyProbe, overridden: Set<String>) -> AutonomyObservations {
        var observations = probe.observed.withLock { $0 }
        let origins = probe.automation.snapshot.commands.commands
        for index in observations.arrivals.indices where observations.arrivals[index].origin == nil {
            observations.arrivals[index].origin = origins[observations.arrivals[index].commandID]?.origin
        }
        let millis = { (date: Date) in Int64(date.timeIntervalSince1970 * 1000) }
        observations.faults = fleet.faultLog.map { entry in
            var failedAt: Int64?
            var endedAt: Int64?
            var isMitigated = false
            switch entry.record.outcome {
            case .failed: failedAt = entry.outcomeAt.map(millis)
            case .ended: endedAt = entry.outcomeAt.map(millis)
            case .mitigated: isMitigated = true
            case .repaired:
                endedAt = entry.outcomeAt.map(millis)
                isMitigated = entry.record.mitigatedAt != nil
            case .running: break
            }
            return AutonomyObservations.Fault(
                id: entry.record.id,
                device: entry.record.deviceID,
                kind: entry.record.kind,
                metric: entry.record.metric,
                startedAt: millis(entry.startedAt),
                failedAt: failedAt,
                endedAt: endedAt,
                mitigatedAt: entry.mitigatedAt.map(millis),
                isMitigated: isMitigated
            )
        }
        observations.overridden = overridden
        observations.endedAt = millis(Date())
        let summary = probe.automation.decisionLatencySummary
        observations.latency = (summary.count, summary.p50, summary.p99)
        observations.timing = probe.automation.decisionTimingSummary
        return observations
    }

    /// Puts devices in manual through `PUT /api/v1/devices/{id}/override` (retrying while the
    /// HTTP server starts).
    private func setOverrides(_ devices: [String], port: Int, token: String) async throws {
        for device in devices {
            guard let url = URL(string: "http://127.0.0.1:\(port)/api/v1/devices/\(device)/override") else {
                throw SimulationError("device id '\(device)' does not make a URL")
            }
            var request = URLRequest(url: url)
            request.httpMethod = "PUT"
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(#"{"reason": "bench: manual operation", "for": "24h"}"#.utf8)
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let (_, response) = try await URLSession.shared.data(for: request)
                    if let http = response as? HTTPURLResponse, http.statusCode == 200 { break }
                    throw SimulationError("override of \(device) answered \(response)")
                } catch {
                    if attempt >= 50 { throw error }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
    }
}

/// Hands the probe built inside `Node(attach:)` to the benchmark.
final class ProbeBox: Sendable {
    private let stream: (AsyncStream<AutonomyProbe>, AsyncStream<AutonomyProbe>.Continuation) =
        AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))

    func set(_ probe: AutonomyProbe) { stream.1.yield(probe) }

    func wait() async throws -> AutonomyProbe {
        for await probe in stream.0 { return probe }
        throw CancellationError()
    }
}

/// What ``AutonomyBenchmark/Configuration/inspect`` gets to look at.
package struct AutonomyBenchmarkHandles: Sendable {
    package let automation: AutomationService
    package let fleet: SimulatedFleet
    package let httpPort: Int
    package let adminToken: String
}
