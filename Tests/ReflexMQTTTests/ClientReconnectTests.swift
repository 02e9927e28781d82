import NIOCore
import ReflexMQTT
import Testing

@Suite("MQTT client reconnects", .timeLimit(.minutes(2)))
struct ClientReconnectTests {
    @Test("after the connection is dropped it reconnects and restores its subscriptions")
    func reconnectAfterDrop() async throws {
        try await withClientTestBroker { port in
            let subscriber = MQTTClient(configuration: clientConfiguration(port: port, id: "sub"), logger: quietLogger)
            let publisher = MQTTClient(configuration: clientConfiguration(port: port, id: "pub"), logger: quietLogger)
            _ = try await withClients([subscriber, publisher]) {
                try await subscriber.waitUntilConnected()
                try await publisher.waitUntilConnected()
                try await subscriber.subscribe(to: [SubscriptionRequest(filter: "alarms/#", qos: .atLeastOnce)])
                subscriber.dropConnection()
                try await waitUntil { subscriber.connections >= 2 }
                try await subscriber.waitUntilConnected()
                // The restoring SUBSCRIBE goes out right after CONNACK; publish until it arrives.
                let message = try await publishUntilReceived(publisher, subscriber, topic: "alarms/pump-1")
                #expect(message.topic == "alarms/pump-1")
            }
        }
    }

    @Test("after the broker restarts on the same port it reconnects and restores its subscriptions")
    func reconnectAfterBrokerRestart() async throws {
        var configuration = BrokerConfiguration()
        configuration.tcp = .init(host: "127.0.0.1", port: 0)
        let first = MQTTBroker(configuration: configuration, logger: quietLogger)
        let (stopSignal, stopFirst) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { inner in
                    inner.addTask { try await first.run() }
                    inner.addTask { for await _ in stopSignal { break } }
                    _ = try await inner.next()
                    inner.cancelAll()
                }
            }
            await first.waitUntilListening()
            let port = try #require(first.boundPort("tcp"))
            let subscriber = MQTTClient(configuration: clientConfiguration(port: port, id: "sub"), logger: quietLogger)
            group.addTask { try await subscriber.run() }
            try await subscriber.waitUntilConnected()
            try await subscriber.subscribe(to: [SubscriptionRequest(filter: "cmd/+", qos: .atLeastOnce)])
            stopFirst.yield()
            try await waitUntil { !subscriber.isConnected }

            let received = try await withClientTestBroker(port: port) { _ in
                try await waitUntil { subscriber.connections >= 2 }
                let publisher = MQTTClient(
                    configuration: clientConfiguration(port: port, id: "pub"),
                    logger: quietLogger
                )
                return try await withClients([publisher]) {
                    try await publisher.waitUntilConnected()
                    return try await publishUntilReceived(publisher, subscriber, topic: "cmd/stop").topic
                }
            }
            #expect(received == "cmd/stop")
            group.cancelAll()
        }
    }
}

/// Polls `condition` every 20 ms for up to 10 s (a bounded wait on real sockets, not a sleep).
func waitUntil(_ condition: @Sendable () -> Bool) async throws {
    for _ in 0..<500 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw ClientTestError.timedOut("condition not met within 10 s")
}

/// Publishes to `topic` every 100 ms until `subscriber` receives it.
func publishUntilReceived(_ publisher: MQTTClient, _ subscriber: MQTTClient, topic: String) async throws -> Publish {
    try await withThrowingTaskGroup(of: Publish?.self) { group in
        group.addTask { try await nextMessage(subscriber, within: .seconds(15)) }
        group.addTask {
            while !Task.isCancelled {
                try? await publisher.publish(to: topic, payload: ByteBuffer(string: "x"), qos: .atLeastOnce)
                try await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }
        defer { group.cancelAll() }
        while let next = try await group.next() {
            if let next { return next }
        }
        throw ClientTestError.noResult
    }
}
