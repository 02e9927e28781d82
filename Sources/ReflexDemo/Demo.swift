import Foundation
public import Logging
import ReflexCore
import ReflexMQTT
import ReflexNode
public import ReflexServer
public import ReflexSimulator
import ReflexStore
public import ServiceLifecycle

/// `reflex serve --demo`: the all-in-one node with a simulated fleet inside the same
/// `ServiceGroup`, the demo rules built in, a fault schedule that keeps showing the loop and a
/// maintenance crew that repairs what failed, so it runs indefinitely.
///
/// ```swift
/// var configuration = try NodeConfiguration.load(...)
/// let demo = try await Demo.prepare(&configuration, options: DemoOptions(), logger: logger)
/// print(demo.banner)
/// try await Node(configuration: configuration, logger: logger, attach: demo.services).run()
/// ```
///
/// The devices connect through the node's own broker over loopback TCP with real tokens,
/// registered in the node's registry at every start (tokens are never printed).
public struct Demo: Sendable {
    /// The data directory the demo uses unless one is given: never a real node's.
    public static let defaultDataDirectory = "./reflex-demo-data"
    /// The operator token the demo creates at every start (the previous one is revoked).
    public static let adminTokenName = "demo-admin"

    /// The fleet (a `Service`).
    public let fleet: SimulatedFleet
    /// A fresh admin operator token for the dashboard (printed in ``banner``).
    public let adminToken: String
    /// What the demo prints at start: the dashboard's address, the token, what will happen.
    public let banner: String
    let options: DemoOptions
    let logger: Logger

    /// Configures the node for the demo (built-in rules, loopback broker for the fleet), registers
    /// the devices, creates a fresh `demo-admin` token and builds the fleet.
    /// - Throws: a registry error, or a message if the MQTT TCP listener is off.
    public static func prepare(
        _ configuration: inout NodeConfiguration,
        options: DemoOptions,
        logger: Logger
    ) async throws -> Demo {
        configuration.automation.builtInRules[DemoRules.fileLabel] = DemoRules.text
        guard let listen = configuration.mqtt.tcp else {
            throw SimulationError("the demo's devices connect over MQTT TCP: mqtt.listen must not be off")
        }
        let registry = try await StoreBackend.openRegistry(configuration.store, directory: configuration.dataDirectory)
        let plan = FleetPlan.devices(count: options.devices)
        let registration = try await SimulatedDeviceRegistration.register(plan, in: registry)
        for token in try await registry.operatorTokens() where token.name == adminTokenName && !token.isRevoked {
            try await registry.revokeOperatorToken(id: token.id)
        }
        let (_, adminToken) = try await registry.createOperatorToken(name: adminTokenName, role: .admin)
        let example = URL(fileURLWithPath: configuration.dataDirectory).appendingPathComponent("demo-rules.yaml")
        try? Data(DemoRules.text.utf8).write(to: example)

        var fleetConfiguration = SimulatedFleetConfiguration(devices: plan)
        fleetConfiguration.seed = options.seed
        fleetConfiguration.brokerHost = loopback(listen.host)
        fleetConfiguration.brokerPort = listen.port
        fleetConfiguration.credentials = registration.tokens
        fleetConfiguration.timeScale = options.speed
        fleetConfiguration.schedule = DemoSchedule.make(
            devices: plan,
            first: seconds(options.firstFault) * options.speed,
            every: seconds(options.faultInterval) * options.speed,
            horizon: 7 * 86_400 * options.speed
        )
        var fleetLogger = logger
        fleetLogger[metadataKey: "component"] = "simulator"
        let fleet = SimulatedFleet(configuration: fleetConfiguration, logger: fleetLogger)
        let banner = Self.banner(
            configuration: configuration,
            options: options,
            plan: plan,
            token: adminToken,
            example: example.path
        )
        return Demo(fleet: fleet, adminToken: adminToken, banner: banner, options: options, logger: fleetLogger)
    }

    /// The services to attach to the node (`Node(attach:)`): the fleet and its maintenance crew.
    @Sendable public func services(_ parts: NodeParts) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        [
            .init(service: DelayedStart(delay: .seconds(1), service: fleet), serviceName: "demo-fleet"),
            .init(
                service: DemoMaintenance(
                    fleet: fleet,
                    automation: parts.automation,
                    repairAfter: options.repairAfter,
                    logger: logger
                ),
                serviceName: "demo-maintenance"
            ),
        ]
    }

    static func loopback(_ host: String) -> String {
        switch host {
        case "0.0.0.0", "": "127.0.0.1"
        case "::", "[::]": "::1"
        default: host
        }
    }

    static func banner(
        configuration: NodeConfiguration,
        options: DemoOptions,
        plan: [PlannedDevice],
        token: String,
        example: String
    ) -> String {
        let http = configuration.http.listen.map { "http://\(loopback($0.host)):\($0.port)/" } ?? "(HTTP is off)"
        let pumps = plan.filter { $0.kind == .pump }.count
        return """

            Reflex demo: \(pumps) simulated pumps and \(plan.count - pumps) chillers on this node's own broker,
            the demo rules built in (readable copy: \(example)), state in \(configuration.dataDirectory).

              Dashboard:    \(http)
              Admin token:  \(token)
                            (a fresh 'demo-admin' token at every start; the previous one is revoked)

            The first fault comes in about \(Int(seconds(options.firstFault))) s, then one every \
            \(Int(seconds(options.faultInterval) / 60)) minutes
            (bearing wear, stuck sensor, chiller overheating, spikes, pump overheating, communication
            loss, compressor wear, drift); watch the alarms, the commands and the decisions. A
            maintenance crew repairs what failed or was slowed down after \
            \(Int(seconds(options.repairAfter) / 60)) minutes. Ctrl-C stops.


            """
    }
}

/// The knobs of `reflex serve --demo`.
public struct DemoOptions: Sendable {
    /// Simulated devices (about one chiller per four).
    public var devices = 12
    /// Seeds the simulator's noise.
    public var seed: UInt64 = 1
    /// Simulated seconds per wall second.
    public var speed: Double = 1
    /// Wall time before the first fault.
    public var firstFault: Duration = .seconds(60)
    /// Wall time between two faults.
    public var faultInterval: Duration = .seconds(180)
    /// How long a failed, stopped or mitigated device waits for the maintenance crew (wall time).
    public var repairAfter: Duration = .seconds(300)

    public init() {}
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// Starts a service a little later: the fleet's devices connect once the node's broker listens
/// (they would reconnect anyway, with a burst of connection-refused notices).
struct DelayedStart: Service {
    let delay: Duration
    let service: any Service

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        } catch {
            return
        }
        try await service.run()
    }
}
