import Logging
import NIOCore
import Testing

@testable import ReflexMQTT

@Suite struct InProcessPublishTests {
    @Test("a broker-made message reaches subscribers and reports how many it reached")
    func routeCounts() throws {
        let broker = BrokerHarness()
        let (device, _) = try broker.connect("pump-1")
        _ = try device.subscribe("devices/pump-1/commands/#", qos: .atLeastOnce)
        let message = ApplicationMessage(
            topic: "devices/pump-1/commands/stop",
            payload: ByteBuffer(string: "{\"id\":\"c1\"}"),
            qos: .atLeastOnce,
            retain: false,
            properties: Properties(),
            expiresAt: nil,
            publisherClientID: nil
        )
        #expect(broker.core.route(message) == 1)
        let received = try device.receivePublishes()
        #expect(received.map(\.text) == ["{\"id\":\"c1\"}"])
        #expect(received.map(\.qos) == [.atLeastOnce])
        let nobody = ApplicationMessage(
            topic: "devices/pump-2/commands/stop",
            payload: ByteBuffer(string: "x"),
            qos: .atMostOnce,
            retain: false,
            properties: Properties(),
            expiresAt: nil,
            publisherClientID: nil
        )
        #expect(broker.core.route(nobody) == 0)
    }

    @Test("MQTTBroker.publish refuses before run() and works while running", .timeLimit(.minutes(1)))
    func publishWhileRunning() async throws {
        var configuration = BrokerConfiguration()
        configuration.tcp = .init(host: "127.0.0.1", port: 0)
        configuration.tls = nil
        configuration.sysIntervalSeconds = 0
        let broker = MQTTBroker(
            configuration: configuration,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        await #expect(throws: BrokerNotRunningError.self) {
            try await broker.publish(topic: "a/b", payload: [1], qos: .atMostOnce, retain: false)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await broker.run() }
            await broker.waitUntilListening()
            let count = try await broker.publish(
                topic: "a/b",
                payload: Array("x".utf8),
                qos: .atMostOnce,
                retain: false
            )
            #expect(count == 0)
            group.cancelAll()
        }
    }
}
