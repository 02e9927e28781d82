import NIOCore
import ReflexMQTT
import Testing

/// A clock whose sleeps take 1/`factor` of the time asked for: keep-alive intervals of seconds
/// pass in tens of milliseconds, while the broker keeps real time.
struct FastClock: Clock {
    typealias Duration = Swift.Duration
    typealias Instant = ContinuousClock.Instant
    let factor: Int
    var now: Instant { ContinuousClock().now }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let remaining = ContinuousClock().now.duration(to: deadline)
        try await ContinuousClock().sleep(for: remaining / factor)
    }
}

@Suite("MQTT client keep-alive", .timeLimit(.minutes(1)))
struct ClientKeepAliveTests {
    @Test("PINGREQs go out every keep-alive interval and the PINGRESPs keep the connection up")
    func pingsAreAnswered() async throws {
        _ = try await withClientTestBroker { port in
            var configuration = clientConfiguration(port: port, id: "pinger")
            configuration.keepAlive = .seconds(10)
            configuration.connectTimeout = .seconds(10)
            // 10 s of keep-alive pass in 100 ms: a missing PINGRESP would close the connection
            // at the second interval and the client would reconnect.
            let client = MQTTClient(configuration: configuration, clock: FastClock(factor: 100), logger: quietLogger)
            return try await withClients([client]) {
                try await client.waitUntilConnected()
                for _ in 0..<15 {
                    // 15 × 100 ms: well over ten keep-alive rounds.
                    try await Task.sleep(for: .milliseconds(100))
                    #expect(client.connections == 1)
                }
                #expect(client.isConnected)
                return true
            }
        }
    }
}
