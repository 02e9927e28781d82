import ArgumentParser
import Foundation
import Logging
import ReflexCore
import ReflexDemo
import ReflexMQTT
import ReflexServer
import ReflexSimulator
import ReflexStore
import ServiceLifecycle
import UnixSignals

/// `reflex simulate`: a fleet of virtual pumps and chillers that connect to an MQTT broker as
/// real devices, publish telemetry, obey commands and fail when faults are left alone.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run simulated pumps and chillers against an MQTT broker, with seeded faults.",
        discussion: """
            Devices are named pump-001..., chiller-001... (about one chiller per four devices) and \
            publish JSON telemetry on devices/{id}/telemetry, `online` on devices/{id}/status \
            (will: `offline`), and answer commands on devices/{id}/commands/{name} with an ack on \
            devices/{id}/commands/{name}/ack. Commands: pump set_speed {rpm 0..3000}, start, stop; \
            chiller set_setpoint {celsius 4..15}, set_load {percent 0..100}, start, stop. \
            Physics, faults and their mitigations: docs/simulator.md.

            Credentials: --data-dir registers the devices in that node's registry (or gives \
            existing ones a new token; safe while `reflex serve` runs); --credentials reads a JSON \
            object {"pump-001": "<token>", ...}; with neither, devices connect anonymously.

            Fault kinds: bearing_wear, overheating, sensor_drift, stuck_sensor, spikes, \
            communication_loss.

            Examples:
              reflex simulate --devices 10 --data-dir ./reflex-data
              reflex simulate --devices 50 --credentials tokens.json \\
                --broker mqtt://10.0.0.5:1883 --faults 40 --fault-window 10m \\
                --seed 7 --speed 10
              reflex simulate --devices 3 --fault overheating:pump-001@2m \\
                --fault spikes:pump-002:flow
            """
    )

    @Option(help: "How many devices to simulate.")
    var devices: Int = 10

    @Option(help: ArgumentHelp("The MQTT broker.", valueName: "mqtt://host:port"))
    var broker: String = "mqtt://127.0.0.1:1883"

    @Option(help: "Seed for noise and faults; the same seed gives the same run.")
    var seed: UInt64 = 1

    @Option(help: "How many faults to inject on a seeded schedule.")
    var faults: Int = 0

    @Option(
        name: .customLong("fault-window"),
        help: ArgumentHelp("Simulated time over which the scheduled faults start.", valueName: "duration")
    )
    var faultWindow: String = "10m"

    @Option(
        name: .customLong("fault"),
        help: ArgumentHelp(
            "A fault to inject: kind:device[:metric][@offset], offset in simulated time (repeatable).",
            valueName: "spec"
        )
    )
    var explicitFaults: [String] = []

    @Option(help: "Simulated seconds per wall second (10 runs the physics ten times faster).")
    var speed: Double = 1

    @Option(help: ArgumentHelp("Wall time between a device's telemetry messages.", valueName: "duration"))
    var interval: String = "1s"

    @Option(help: ArgumentHelp("Stop after this much wall time (default: run until Ctrl-C).", valueName: "duration"))
    var duration: String?

    @Option(help: ArgumentHelp("JSON object mapping device id to token.", valueName: "file.json"))
    var credentials: String?

    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp("Register the devices in this node's registry and use fresh tokens.", valueName: "directory")
    )
    var dataDirectory: String?

    @Option(
        name: .customLong("store"),
        help: ArgumentHelp(
            "With --data-dir: the node's store, as given to `reflex serve` (env REFLEX_STORE; default: sqlite).",
            valueName: "backend"
        )
    )
    var store: String?

    @Option(help: "MQTT protocol version: 5 or 3.1.1.")
    var mqtt: String = "5"

    @Flag(help: "Log connections and commands (info level) to standard error.")
    var verbose = false

    func validate() throws {
        guard devices > 0 else { throw ValidationError("--devices must be at least 1") }
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a positive number, e.g. 10") }
        guard faults >= 0 else { throw ValidationError("--faults must be 0 or more") }
        guard credentials == nil || dataDirectory == nil else {
            throw ValidationError("give either --credentials or --data-dir, not both")
        }
        _ = try parseBroker(broker)
        _ = try parseSimulatorDuration(interval, option: "--interval")
        _ = try parseSimulatorDuration(faultWindow, option: "--fault-window")
        if let duration { _ = try parseSimulatorDuration(duration, option: "--duration") }
        guard mqtt == "5" || mqtt == "3.1.1" else { throw ValidationError("--mqtt must be 5 or 3.1.1") }
    }

    func run() async throws {
        let level: Logger.Level = verbose ? .info : .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "reflex.simulate")
        let plan = FleetPlan.devices(count: devices)
        let (host, port) = try parseBroker(broker)
        var configuration = SimulatedFleetConfiguration(devices: plan)
        configuration.seed = seed
        configuration.brokerHost = host
        configuration.brokerPort = port
        configuration.timeScale = speed
        configuration.mqttVersion = mqtt == "5" ? .v5 : .v311
        configuration.telemetryInterval = try parseSimulatorDuration(interval, option: "--interval")
        let window = try parseSimulatorDuration(faultWindow, option: "--fault-window")
        configuration.schedule =
            FaultSchedule.make(count: faults, window: seconds(window), deviceIDs: plan.map(\.id), seed: seed)
            + (try explicitFaults.map { try parseFault($0, devices: plan) })
        configuration.credentials = try await loadCredentials(plan)

        let fleet = SimulatedFleet(configuration: configuration, logger: logger)
        let limit = try duration.map { try parseSimulatorDuration($0, option: "--duration") }
        print(
            "Simulating \(plan.count) devices (\(plan.filter { $0.kind == .pump }.count) pumps, "
                + "\(plan.filter { $0.kind == .chiller }.count) chillers) against mqtt://\(host):\(port), seed \(seed), "
                + "speed ×\(formatNumber(speed)), \(configuration.schedule.count) faults planned. Ctrl-C stops."
        )
        let progress = ProgressReporter(fleet: fleet, limit: limit)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: fleet),
                    .init(service: progress, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        progress.printSummary()
    }

    /// Tokens per device: registered (or re-tokened) in the data directory, read from the
    /// credentials file, or none.
    private func loadCredentials(_ plan: [PlannedDevice]) async throws -> [String: String] {
        if let credentials {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: credentials))
                return try JSONDecoder().decode([String: String].self, from: data)
            } catch {
                throw fail("cannot read --credentials \(credentials): expected a JSON object of id → token (\(error))")
            }
        }
        guard let dataDirectory else { return [:] }
        var options = RegistryOptions()
        options.dataDirectory = dataDirectory
        options.store = store
        let registry = try await options.openRegistry()
        let result = try await reportingErrors { try await SimulatedDeviceRegistration.register(plan, in: registry) }
        print(
            "Registered \(result.added) new and re-tokened \(plan.count - result.added) existing devices in \(registry.location)."
        )
        return result.tokens
    }
}

/// Prints a progress line every 10 s (and fault events as they happen); returns after the
/// optional time limit, which shuts the group down.
struct ProgressReporter: Service {
    let fleet: SimulatedFleet
    let limit: Duration?

    func run() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        var reported: [Int: String] = [:]
        var lastLine = start
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(for: .milliseconds(500)) }
            } catch {
                return
            }
            for entry in fleet.faultLog where reported[entry.record.id] != "\(entry.record.outcome)" {
                reported[entry.record.id] = "\(entry.record.outcome)"
                let record = entry.record
                print(
                    "fault #\(record.id) \(record.kind) on \(record.deviceID)"
                        + (record.metric.map { " (\($0))" } ?? "") + ": \(record.outcome)"
                )
            }
            if clock.now - lastLine >= .seconds(10) {
                lastLine = clock.now
                printLine()
            }
            if let limit, clock.now - start >= limit { return }
        }
    }

    func printLine() {
        let statistics = fleet.statistics
        print(
            "t=+\(Int(statistics.simulatedSeconds))s simulated: \(statistics.devicesConnected)/\(fleet.devices.count) "
                + "connected, \(statistics.telemetryPublished) telemetry messages, \(statistics.commandsReceived) "
                + "commands (\(statistics.commandsRejected) rejected)"
        )
    }

    func printSummary() {
        printLine()
        let log = fleet.faultLog
        guard !log.isEmpty else { return }
        let failed = log.filter { if case .failed = $0.record.outcome { true } else { false } }.count
        let mitigated = log.filter { if case .mitigated = $0.record.outcome { true } else { false } }.count
        print("faults: \(log.count) injected, \(failed) failed, \(mitigated) mitigated")
    }
}

/// "mqtt://host:port" (or "host:port", or "host") → host and port (default 1883).
func parseBroker(_ text: String) throws -> (String, Int) {
    var rest = Substring(text)
    if rest.hasPrefix("mqtt://") { rest = rest.dropFirst(7) }
    if rest.hasPrefix("tcp://") { rest = rest.dropFirst(6) }
    guard !rest.contains("/"), !rest.isEmpty else {
        throw ValidationError("--broker '\(text)' is not mqtt://host:port")
    }
    if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
        let host = String(rest[rest.index(after: rest.startIndex)..<close])
        let after = rest[rest.index(after: close)...]
        guard after.isEmpty || after.hasPrefix(":"), let port = after.isEmpty ? 1883 : Int(after.dropFirst()) else {
            throw ValidationError("--broker '\(text)': bad port")
        }
        return (host, port)
    }
    let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count <= 2, !parts[0].isEmpty else {
        throw ValidationError("--broker '\(text)' is not mqtt://host:port")
    }
    guard parts.count == 2 else { return (String(parts[0]), 1883) }
    guard let port = Int(parts[1]), (1...65535).contains(port) else {
        throw ValidationError("--broker '\(text)': port '\(parts[1])' is not 1...65535")
    }
    return (String(parts[0]), port)
}

/// "500ms", "1s", "1.5s", "10m", "2h" → Duration.
func parseSimulatorDuration(_ text: String, option: String) throws -> Duration {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        guard let count = Double(text.dropLast(suffix.count)), count >= 0, count.isFinite else { break }
        return .milliseconds(Int64((count * factor * 1000).rounded()))
    }
    throw ValidationError("\(option) '\(text)' is not a duration such as 500ms, 1s, 10m, 2h")
}

/// "kind:device[:metric][@offset]" → a scheduled fault.
func parseFault(_ text: String, devices: [PlannedDevice]) throws -> ScheduledFault {
    let (spec, offset) =
        text.split(separator: "@", maxSplits: 1).count == 2
        ? (String(text.split(separator: "@")[0]), String(text.split(separator: "@")[1])) : (text, "0s")
    let parts = spec.split(separator: ":").map(String.init)
    guard parts.count == 2 || parts.count == 3 else {
        throw ValidationError("--fault '\(text)' is not kind:device[:metric][@offset], e.g. overheating:pump-001@2m")
    }
    guard let kind = FaultKind(rawValue: parts[0]) else {
        throw ValidationError(
            "--fault '\(text)': unknown kind '\(parts[0])'; kinds: "
                + FaultKind.allCases.map(\.rawValue).joined(separator: ", ")
        )
    }
    guard devices.contains(where: { $0.id == parts[1] }) else {
        throw ValidationError("--fault '\(text)': no simulated device '\(parts[1])' (ids: pump-001..., chiller-001...)")
    }
    let at = seconds(try parseSimulatorDuration(offset, option: "--fault"))
    return ScheduledFault(at: at, deviceID: parts[1], kind: kind, metric: parts.count == 3 ? parts[2] : nil)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

func formatNumber(_ value: Double) -> String {
    value == value.rounded() ? String(Int(value)) : String(value)
}
