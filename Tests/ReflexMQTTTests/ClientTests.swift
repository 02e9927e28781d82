import NIOCore
import Testing

@testable import ReflexMQTT

@Suite("MQTT client against the embedded broker", .timeLimit(.minutes(2)))
struct ClientTests {
    @Test(
        "connects and round-trips QoS 0 and QoS 1 messages over a wildcard subscription",
        arguments: [
            ProtocolVersion.v311, .v5,
        ]
    )
    func roundTrip(version: ProtocolVersion) async throws {
        try await withClientTestBroker { port in
            let subscriber = MQTTClient(
                configuration: clientConfiguration(port: port, id: "sub", version: version),
                logger: quietLogger
            )
            let publisher = MQTTClient(
                configuration: clientConfiguration(port: port, id: "pub", version: version),
                logger: quietLogger
            )
            _ = try await withClients([subscriber, publisher]) {
                try await subscriber.waitUntilConnected()
                try await publisher.waitUntilConnected()
                let codes = try await subscriber.subscribe(to: [
                    SubscriptionRequest(filter: "devices/+/telemetry", qos: .atLeastOnce)
                ])
                #expect(codes == [.grantedQoS1])

                try await publisher.publish(to: "devices/a/telemetry", payload: ByteBuffer(string: "zero"))
                let first = try await nextMessage(subscriber)
                #expect(first.topic == "devices/a/telemetry")
                #expect(String(buffer: first.payload) == "zero")

                try await publisher.publish(
                    to: "devices/b/telemetry",
                    payload: ByteBuffer(string: "one"),
                    qos: .atLeastOnce
                )
                let second = try await nextMessage(subscriber)
                #expect(second.topic == "devices/b/telemetry")
                #expect(second.qos == .atLeastOnce)
                #expect(String(buffer: second.payload) == "one")
            }
        }
    }

    @Test("many QoS 1 publishes share a bounded in-flight window: the broker never holds more than 2 unacknowledged")
    func boundedInflight() async throws {
        let broker = HeldAcknowledgementInterceptor(holdsAcknowledgements: true)
        let publishes = 20
        try await withClientTestBroker(interceptor: broker) { port in
            var configuration = clientConfiguration(port: port, id: "burst")
            configuration.maximumInflight = 2
            let client = MQTTClient(configuration: configuration, logger: quietLogger)
            _ = try await withClients([client]) {
                try await client.waitUntilConnected()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<publishes {
                        group.addTask {
                            try await client.publish(
                                to: "burst/\(index)",
                                payload: ByteBuffer(string: "\(index)"),
                                qos: .atLeastOnce
                            )
                        }
                    }
                    do {
                        // Every caller has asked to publish, and every publish the client let
                        // out has reached the broker: what the broker holds now is the whole
                        // window. (A client that ignored the window would have all 20 out here.)
                        try await waitUntil {
                            let (inflight, waiting) = client.stateLock {
                                ($0.inflightPublishes, $0.publishesAwaitingSlot)
                            }
                            return inflight + waiting == publishes && broker.unacknowledged == inflight
                        }
                        try #require(broker.unacknowledged == 2)
                        // Release one PUBACK at a time; each frees one slot for exactly one more.
                        for released in 1...(publishes - 2) {
                            broker.releaseOldest()
                            try await waitUntil { broker.seen.count == 2 + released && broker.unacknowledged == 2 }
                        }
                    } catch {
                        broker.releaseAll()  // so that the publishing tasks end and the test fails now
                        throw error
                    }
                    broker.releaseAll()
                    try await group.waitForAll()
                }
                return true
            }
        }
        #expect(broker.maximumUnacknowledged == 2)
        #expect(Set(broker.seen.map(\.topic)) == Set((0..<publishes).map { "burst/\($0)" }))
        #expect(broker.seen.count == publishes)
    }

    @Test("bad credentials end run() with a clear connectionRefused error", arguments: [ProtocolVersion.v311, .v5])
    func badCredentials(version: ProtocolVersion) async throws {
        let error = try await withClientTestBroker(authenticator: PasswordAuthenticator()) { port in
            let client = MQTTClient(
                configuration: clientConfiguration(
                    port: port,
                    id: "device-1",
                    version: version,
                    username: "device-1",
                    password: "wrong"
                ),
                logger: quietLogger
            )
            do {
                try await client.run()
                return MQTTClientError(code: .shutdown, message: "run returned")
            } catch let error as MQTTClientError {
                return error
            }
        }
        #expect(error.code == .connectionRefused)
        #expect(error.reasonCode == .badUserNameOrPassword)
        #expect(error.isPermanent)
        #expect(error.description.contains("bad user name or password"))
        #expect(error.description.contains("device-1"))
    }

    @Test("good credentials connect, and the broker sees the identity they prove")
    func goodCredentials() async throws {
        let broker = HeldAcknowledgementInterceptor(holdsAcknowledgements: false)
        let connected = try await withClientTestBroker(authenticator: PasswordAuthenticator(), interceptor: broker) {
            port in
            let client = MQTTClient(
                configuration: clientConfiguration(
                    port: port,
                    id: "device-1",
                    username: "device-1",
                    password: "secret"
                ),
                logger: quietLogger
            )
            return try await withClients([client]) {
                try await client.waitUntilConnected()
                // A QoS 1 round trip: returns once the broker accepted and acknowledged it.
                try await client.publish(
                    to: "devices/device-1/telemetry",
                    payload: ByteBuffer(string: "1"),
                    qos: .atLeastOnce
                )
                return client.isConnected && client.connections == 1
            }
        }
        #expect(connected)
        #expect(broker.seen == [.init(topic: "devices/device-1/telemetry", principal: "device-1")])
    }

    @Test("publishing while not connected says so")
    func notConnected() async throws {
        let client = MQTTClient(
            configuration: clientConfiguration(port: 1, id: "idle"),
            logger: quietLogger
        )
        let error = await #expect(throws: MQTTClientError.self) {
            try await client.publish(to: "a/b", payload: ByteBuffer(string: "x"), qos: .atLeastOnce)
        }
        #expect(error?.code == .notConnected)
        #expect(error?.description.contains("a/b") == true)
    }

    @Test("a dropped connection publishes the will; disconnect() with disconnectPublishesWill does too")
    func will() async throws {
        try await withClientTestBroker { port in
            let observer = MQTTClient(
                configuration: clientConfiguration(port: port, id: "observer"),
                logger: quietLogger
            )
            var configuration = clientConfiguration(port: port, id: "device")
            configuration.will = Will(
                topic: "devices/device/status",
                payload: ByteBuffer(string: "offline"),
                qos: .atLeastOnce,
                retain: true
            )
            configuration.disconnectPublishesWill = true
            let device = MQTTClient(configuration: configuration, logger: quietLogger)
            _ = try await withClients([observer, device]) {
                try await observer.waitUntilConnected()
                try await device.waitUntilConnected()
                try await observer.subscribe(to: [SubscriptionRequest(filter: "devices/+/status", qos: .atLeastOnce)])
                device.dropConnection()
                let first = try await nextMessage(observer)
                #expect(first.topic == "devices/device/status")
                #expect(String(buffer: first.payload) == "offline")
                try await waitUntil { device.connections >= 2 }
                try await device.waitUntilConnected()
                device.disconnect()
                let second = try await nextMessage(observer)
                #expect(String(buffer: second.payload) == "offline")
                return true
            }
        }
    }
}
