import Foundation
import Logging
import NIOCore
import ReflexMQTT

/// One simulated device's MQTT side: its client, its telemetry and status messages, and its
/// command handling. The physics stays in the fleet's ``Simulation``.
final class DeviceLink: Sendable {
    let device: PlannedDevice
    let client: MQTTClient
    let fleet: SimulatedFleet
    private let logger: Logger

    init(device: PlannedDevice, fleet: SimulatedFleet, logger: Logger) {
        self.device = device
        self.fleet = fleet
        var logger = logger
        logger[metadataKey: "device.id"] = "\(device.id)"
        self.logger = logger
        let settings = fleet.configuration
        var configuration = MQTTClientConfiguration(
            host: settings.brokerHost,
            port: settings.brokerPort,
            clientID: device.id
        )
        configuration.version = settings.mqttVersion
        if let token = settings.credentials[device.id] {
            configuration.username = device.id
            configuration.password = token
        }
        configuration.will = Will(
            topic: Self.topic(device.id, "status"),
            payload: ByteBuffer(string: "offline"),
            qos: .atLeastOnce,
            retain: true
        )
        configuration.disconnectPublishesWill = true
        configuration.receiveBufferSize = 256
        configuration.reconnectMaximumDelay = .seconds(5)
        client = MQTTClient(configuration: configuration, logger: logger)
    }

    static func topic(_ id: String, _ suffix: String) -> String { "devices/\(id)/\(suffix)" }

    /// Runs the client until the fleet stops; a refused device is logged and gives up.
    func runClient() async {
        do {
            try await client.run()
        } catch {
            logger.error("Simulated device cannot connect", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Telemetry and status

    /// Publishes this tick's telemetry (unless the device is silent), after announcing status
    /// and state if they changed or the connection is new.
    func publishTick(at timestamp: Date) async {
        guard client.isConnected else {
            fleet.withState { $0.statistics.telemetryFailed += 1 }
            return
        }
        let connection = client.connections
        let sample: (Reading, SimulatedFleet.PublishedState, [String: String], Bool)? = fleet.withState { state in
            guard let reading = state.simulation.reading(of: device.id),
                let virtual = state.simulation.device(device.id)
            else { return nil }
            let announced = SimulatedFleet.PublishedState(connection: connection, mode: Self.mode(of: virtual))
            let isNew = state.published[device.id] != announced
            state.published[device.id] = announced
            return (reading, announced, Self.attributes(of: virtual), isNew)
        }
        guard let (reading, announced, attributes, isNew) = sample else { return }
        do {
            if isNew {
                try await client.publish(
                    to: Self.topic(device.id, "status"),
                    payload: ByteBuffer(string: "online"),
                    qos: .atLeastOnce,
                    retain: true
                )
                var stateJSON = attributes
                stateJSON["mode"] = announced.mode
                try await client.publish(
                    to: Self.topic(device.id, "state"),
                    payload: ByteBuffer(bytes: Self.json(stateJSON)),
                    qos: .atLeastOnce,
                    retain: true
                )
            }
            try await client.publish(
                to: Self.topic(device.id, "telemetry"),
                payload: ByteBuffer(string: Self.telemetryJSON(reading, at: timestamp)),
                qos: .atLeastOnce
            )
            fleet.withState { $0.statistics.telemetryPublished += 1 }
        } catch {
            fleet.withState {
                $0.statistics.telemetryFailed += 1
                $0.published[device.id] = nil  // announce again next time
            }
            logger.debug("Telemetry not published", metadata: ["error": "\(error)"])
        }
    }

    static func mode(of device: VirtualDevice) -> String {
        device.failure != nil ? "failed" : device.isRunning ? "running" : "stopped"
    }

    static func attributes(of device: VirtualDevice) -> [String: String] {
        var attributes = ["type": device.kind.rawValue]
        if let failure = device.failure { attributes["failure"] = failure.rawValue }
        switch device.physics {
        case .pump(let pump): attributes["speed_setpoint"] = VirtualDevice.format(pump.speedSetpoint)
        case .chiller(let chiller):
            attributes["setpoint"] = VirtualDevice.format(chiller.setpoint)
            attributes["load_setpoint"] = VirtualDevice.format(chiller.loadSetpoint)
        }
        return attributes
    }

    /// `{"ts": <ms>, "values": {...}}` with values rounded to 3 decimals, keys sorted, plus
    /// `running` and `failed` as booleans.
    static func telemetryJSON(_ reading: Reading, at timestamp: Date) -> String {
        let milliseconds = Int64((timestamp.timeIntervalSince1970 * 1000).rounded())
        var fields = reading.values.sorted { $0.key < $1.key }.map { key, value in
            "\"\(key)\":\(((value * 1000).rounded() / 1000))"
        }
        fields.append("\"running\":\(reading.isRunning)")
        fields.append("\"failed\":\(reading.isFailed)")
        return "{\"ts\":\(milliseconds),\"values\":{\(fields.joined(separator: ","))}}"
    }

    static func json(_ object: [String: String]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(object))) ?? Array("{}".utf8)
    }

    // MARK: - Commands

    /// Subscribes to `devices/{id}/commands/+` and answers every command until the client stops.
    func serveCommands() async {
        let filter = Self.topic(device.id, "commands/+")
        while true {
            do {
                try await client.waitUntilConnected()
            } catch {
                return  // the client stopped
            }
            do {
                try await client.subscribe(to: [SubscriptionRequest(filter: filter, qos: .atLeastOnce)])
                break
            } catch {
                logger.notice("Subscribing to commands failed; retrying", metadata: ["error": "\(error)"])
                if Task.isCancelled { return }
            }
        }
        for await message in client.messages {
            await handle(message)
        }
    }

    private func handle(_ message: Publish) async {
        let levels = message.topic.split(separator: "/", omittingEmptySubsequences: false)
        guard levels.count == 4, levels[0] == "devices", levels[1] == device.id, levels[2] == "commands",
            !levels[3].isEmpty
        else { return }
        let name = String(levels[3])
        // A device that lost communication never sees the command.
        let silent = fleet.withState { $0.simulation.isSilent(device.id) }
        if silent { return }
        fleet.withState { $0.statistics.commandsReceived += 1 }
        let payload = Array(message.payload.readableBytesView)
        let acks: [CommandAck]
        switch CommandRequest.parse(name: name, payload: payload) {
        case .failure(let rejected):
            acks = [CommandAck(id: rejected.id, status: .rejected, detail: rejected.detail)]
        case .success(let request):
            let now = fleet.wallNow
            if request.isExpired(at: now), let expiresAt = request.expiresAt {
                acks = [
                    CommandAck(
                        id: request.id,
                        status: .rejected,
                        detail: "command '\(name)' expired at \(expiresAt.formatted(.iso8601)) "
                            + "(received \(now.formatted(.iso8601)))"
                    )
                ]
            } else {
                let result = fleet.withState { $0.simulation.apply(name, params: request.params, to: device.id) }
                if result.status == .rejected {
                    acks = [CommandAck(id: request.id, status: .rejected, detail: result.detail)]
                } else {
                    acks = [
                        CommandAck(id: request.id, status: .accepted, detail: "command '\(name)' accepted"),
                        CommandAck(id: request.id, status: .done, detail: result.detail),
                    ]
                }
            }
        }
        if acks.contains(where: { $0.status == .rejected }) {
            fleet.withState { $0.statistics.commandsRejected += 1 }
        }
        logger.info(
            "Command answered",
            metadata: ["command.name": "\(name)", "command.status": "\(acks.last?.status.rawValue ?? "-")"]
        )
        for ack in acks {
            do {
                try await client.publish(
                    to: Self.topic(device.id, "commands/\(name)/ack"),
                    payload: ByteBuffer(bytes: ack.encoded()),
                    qos: .atLeastOnce
                )
            } catch {
                logger.notice("Command ack not published", metadata: ["error": "\(error)"])
            }
        }
    }
}
