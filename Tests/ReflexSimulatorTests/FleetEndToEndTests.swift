import Foundation
import Logging
import NIOCore
import ReflexMQTT
import Testing

@testable import ReflexSimulator

@Suite("Simulated fleet through the real broker", .timeLimit(.minutes(2)))
struct FleetEndToEndTests {
    @Test("devices publish status and telemetry, take a command and acknowledge it")
    func telemetryAndCommands() async throws {
        let logger = Logger(label: "fleet-test", factory: { _ in SwiftLogNoOpLogHandler() })
        var brokerConfiguration = BrokerConfiguration()
        brokerConfiguration.tcp = .init(host: "127.0.0.1", port: 0)
        let broker = MQTTBroker(configuration: brokerConfiguration, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await broker.run() }
            await broker.waitUntilListening()
            let port = try #require(broker.boundPort("tcp"))

            var configuration = SimulatedFleetConfiguration(devices: FleetPlan.devices(count: 3))
            configuration.brokerPort = port
            configuration.telemetryInterval = .milliseconds(100)
            configuration.timeScale = 10
            let fleet = SimulatedFleet(configuration: configuration, logger: logger)
            group.addTask { try await fleet.run() }

            var observerConfiguration = MQTTClientConfiguration(host: "127.0.0.1", port: port, clientID: "observer")
            observerConfiguration.reconnectInitialDelay = .milliseconds(50)
            let observer = MQTTClient(configuration: observerConfiguration, logger: logger)
            group.addTask { try await observer.run() }
            try await observer.waitUntilConnected()
            try await observer.subscribe(to: [SubscriptionRequest(filter: "devices/#", qos: .atLeastOnce)])

            var telemetryFrom: Set<String> = []
            var statusOnline: Set<String> = []
            var acks: [String: [String: String]] = [:]
            var commandsSent = false
            for await message in observer.messages {
                let levels = message.topic.split(separator: "/").map(String.init)
                let payload = String(buffer: message.payload)
                if levels.count == 3, levels[2] == "telemetry" {
                    telemetryFrom.insert(levels[1])
                    let json = try #require(
                        try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]
                    )
                    #expect(json["ts"] is NSNumber)
                    #expect(json["values"] is [String: Any])
                } else if levels.count == 3, levels[2] == "status", payload == "online" {
                    statusOnline.insert(levels[1])
                } else if levels.count == 5, levels[4] == "ack" {
                    let json = try #require(
                        try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: String]
                    )
                    acks[json["id"] ?? "", default: [:]][json["status"] ?? ""] = json["detail"]
                }
                if !commandsSent, telemetryFrom.count == 3 {
                    commandsSent = true
                    try await observer.publish(
                        to: "devices/pump-001/commands/set_speed",
                        payload: ByteBuffer(string: #"{"id":"c-1","params":{"rpm":1200}}"#),
                        qos: .atLeastOnce
                    )
                    try await observer.publish(
                        to: "devices/pump-001/commands/set_speed",
                        payload: ByteBuffer(string: #"{"id":"c-2","params":{"rpm":9000}}"#),
                        qos: .atLeastOnce
                    )
                    try await observer.publish(
                        to: "devices/chiller-001/commands/stop",
                        payload: ByteBuffer(string: #"{"id":"c-3","params":{},"expiresAt":1000}"#),
                        qos: .atLeastOnce
                    )
                }
                if acks["c-1"]?["done"] != nil, acks["c-2"] != nil, acks["c-3"] != nil { break }
            }
            #expect(telemetryFrom == ["pump-001", "pump-002", "chiller-001"])
            #expect(statusOnline == telemetryFrom)
            #expect(acks["c-1"]?["accepted"] != nil)
            #expect(acks["c-1"]?["done"]?.contains("1200 rpm") == true)
            #expect(acks["c-2"]?["rejected"]?.contains("out of range") == true)
            #expect(acks["c-3"]?["rejected"]?.contains("expired") == true)
            guard case .pump(let pump)? = fleet.snapshot.device("pump-001")?.physics else {
                Issue.record("pump-001 missing")
                return
            }
            #expect(pump.speedSetpoint == 1200)
            #expect(fleet.statistics.commandsRejected == 2)
            group.cancelAll()
        }
    }

    @Test("a fault injected on demand is logged with wall-clock times and its outcome")
    func onDemandFault() throws {
        let logger = Logger(label: "fleet-test", factory: { _ in SwiftLogNoOpLogHandler() })
        let fleet = SimulatedFleet(
            configuration: SimulatedFleetConfiguration(devices: FleetPlan.devices(count: 2)),
            logger: logger
        )
        let entry = try fleet.injectFault(.stuckSensor, into: "pump-001", metric: "flow")
        #expect(entry.record.kind == .stuckSensor)
        #expect(entry.record.metric == "flow")
        #expect(fleet.faultLog.count == 1)
        #expect(fleet.faultLog.first?.record.outcome == .running)
        #expect(throws: SimulationError.self) { try fleet.injectFault(.spikes, into: "nope") }
    }
}
