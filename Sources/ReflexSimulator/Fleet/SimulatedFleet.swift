public import Foundation
public import Logging
import NIOCore
import ReflexMQTT
public import ServiceLifecycle
import Synchronization

/// A fleet of simulated devices connected to an MQTT broker as real devices, as a `Service`.
///
/// Every device is an ``MQTTClient`` (client id and user name = device id, password = token) that
/// publishes `online` retained on `devices/{id}/status` (will: `offline`), telemetry
/// `{"ts": <ms>, "values": {...}}` on `devices/{id}/telemetry` at QoS 1 every
/// ``SimulatedFleetConfiguration/telemetryInterval``, its operating state retained on
/// `devices/{id}/state`, and answers commands on `devices/{id}/commands/{name}` with an ack on
/// `devices/{id}/commands/{name}/ack`.
///
/// The physics lives in a ``Simulation`` advanced by `telemetryInterval × timeScale` simulated
/// seconds per tick; faults come from the schedule or ``injectFault(_:into:metric:duration:)``,
/// and ``faultLog`` tells what became of each.
public final class SimulatedFleet: Service, Sendable {
    public let configuration: SimulatedFleetConfiguration
    private let state: Mutex<FleetState>
    private let clock: any Clock<Duration>
    private let now: @Sendable () -> Date
    private let logger: Logger

    struct FleetState {
        var simulation: Simulation
        var wallStart: Date?
        var statistics = FleetStatistics()
        var published: [String: PublishedState] = [:]
    }

    /// What a device last announced, so that it re-announces after a reconnect or a change.
    struct PublishedState: Equatable {
        var connection: Int
        var mode: String
    }

    /// - Parameters:
    ///   - configuration: devices, broker, credentials, timing and faults.
    ///   - clock: paces the ticks (tests may pass a faster or manual clock).
    ///   - now: the wall clock, for telemetry timestamps and command expiry.
    ///   - logger: lifecycle at info, faults and failures at notice.
    public init(
        configuration: SimulatedFleetConfiguration,
        clock: any Clock<Duration> = ContinuousClock(),
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.configuration = configuration
        self.clock = clock
        self.now = now
        self.logger = logger
        let simulation = Simulation(
            devices: configuration.devices,
            seed: configuration.seed,
            startTime: configuration.startTime ?? now().timeIntervalSince1970,
            schedule: configuration.schedule
        )
        state = Mutex(FleetState(simulation: simulation))
    }

    // MARK: - Observation and control

    /// The simulated devices.
    public var devices: [PlannedDevice] { configuration.devices }

    /// Every injected fault with its outcome and wall-clock times.
    public var faultLog: [FaultLogEntry] {
        let (records, wallStart) = state.withLock { ($0.simulation.faultLog, $0.wallStart) }
        return records.map { record in
            let wall = { (seconds: Double) in self.wallDate(simulated: seconds, start: wallStart) }
            var outcomeAt: Date?
            switch record.outcome {
            case .running: outcomeAt = nil
            case .failed(let at), .mitigated(let at), .ended(let at), .repaired(let at): outcomeAt = wall(at)
            }
            return FaultLogEntry(
                record: record,
                startedAt: wall(record.startedAt),
                outcomeAt: outcomeAt,
                mitigatedAt: record.mitigatedAt.map(wall)
            )
        }
    }

    /// Counters so far.
    public var statistics: FleetStatistics { state.withLock { $0.statistics } }

    /// A copy of the simulation (devices, physics, fault log) as it is now.
    public var snapshot: Simulation { state.withLock { $0.simulation } }

    /// Injects a fault now.
    /// - Parameters:
    ///   - kind: the fault.
    ///   - deviceID: the device.
    ///   - metric: for sensor faults, which metric (default: a seeded pick).
    ///   - duration: for sensor faults and communication loss, simulated time (default: the kind's).
    /// - Throws: ``SimulationError`` for an unknown device or metric.
    @discardableResult
    public func injectFault(
        _ kind: FaultKind,
        into deviceID: String,
        metric: String? = nil,
        duration: Duration? = nil
    )
        throws -> FaultLogEntry
    {
        let seconds = duration.map { Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18 }
        let record = try state.withLock { state throws(SimulationError) in
            try state.simulation.inject(kind, into: deviceID, metric: metric, duration: seconds)
        }
        logger.notice(
            "Fault injected",
            metadata: ["device.id": "\(deviceID)", "fault.kind": "\(kind)", "fault.metric": "\(record.metric ?? "-")"]
        )
        return faultLog.first { $0.record.id == record.id }
            ?? FaultLogEntry(record: record, startedAt: now(), outcomeAt: nil, mitigatedAt: nil)
    }

    /// Repairs a failed device (it stays stopped until a `start` command).
    public func repair(_ deviceID: String) throws {
        try state.withLock { state throws(SimulationError) in try state.simulation.repair(deviceID) }
    }

    private func wallDate(simulated seconds: Double, start: Date?) -> Date {
        (start ?? now()).addingTimeInterval(seconds / max(configuration.timeScale, 1e-9))
    }

    // MARK: - Service

    /// Connects every device and simulates until cancelled or gracefully shut down. Devices whose
    /// credentials are refused are logged and left out; the others carry on.
    public func run() async throws {
        let start = now()
        state.withLock { $0.wallStart = start }
        let links = configuration.devices.map { DeviceLink(device: $0, fleet: self, logger: logger) }
        logger.info(
            "Simulated fleet starting",
            metadata: [
                "simulator.devices": "\(links.count)",
                "mqtt.broker": "\(configuration.brokerHost):\(configuration.brokerPort)",
                "simulator.time_scale": "\(configuration.timeScale)",
            ]
        )
        await withDiscardingTaskGroup { group in
            for link in links {
                group.addTask { await link.runClient() }
                group.addTask { await link.serveCommands() }
            }
            group.addTask {
                do {
                    try await cancelWhenGracefulShutdown { try await self.tick(links, start: start) }
                } catch {
                    // cancelled or shutting down
                }
                for link in links { link.client.disconnect() }
            }
        }
        logger.info("Simulated fleet stopped")
    }

    /// Every interval: advance the physics, then let every device publish.
    private func tick(_ links: [DeviceLink], start: Date) async throws {
        let interval = configuration.telemetryInterval
        let intervalSeconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) * 1e-18
        var tickNumber = 0.0
        while !Task.isCancelled {
            tickNumber += 1
            let due = start.addingTimeInterval(tickNumber * intervalSeconds)
            let wait = due.timeIntervalSince(now())
            if wait > 0 { try await clock.sleep(for: .milliseconds(Int64(wait * 1000))) }
            let before = state.withLock { $0.simulation.faultLog }
            state.withLock { $0.simulation.advance(by: intervalSeconds * configuration.timeScale) }
            logFaultChanges(before: before)
            let timestamp = now()
            await withDiscardingTaskGroup { group in
                for link in links {
                    group.addTask { await link.publishTick(at: timestamp) }
                }
            }
            let connected = links.reduce(0) { $0 + ($1.client.isConnected ? 1 : 0) }
            state.withLock {
                $0.statistics.devicesConnected = connected
                $0.statistics.simulatedSeconds = $0.simulation.elapsed
            }
        }
    }

    private func logFaultChanges(before: [FaultRecord]) {
        let after = state.withLock { $0.simulation.faultLog }
        for record in after {
            let previous = record.id <= before.count ? before[record.id - 1] : nil
            guard previous?.outcome != record.outcome || previous == nil else { continue }
            logger.notice(
                "Fault \(previous == nil ? "started" : "changed")",
                metadata: [
                    "device.id": "\(record.deviceID)", "fault.kind": "\(record.kind)",
                    "fault.outcome": "\(record.outcome)",
                ]
            )
        }
    }

    // MARK: - For DeviceLink

    func withState<T: Sendable>(_ body: (inout FleetState) -> T) -> T {
        state.withLock { body(&$0) }
    }

    var wallNow: Date { now() }
}
