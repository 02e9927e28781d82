import NIOCore
import ReflexMQTT
import ReflexTestSupport
import Testing

@Suite("MQTT client keep-alive", .timeLimit(.minutes(1)))
struct ClientKeepAliveTests {
    @Test("PINGREQs go out every keep-alive interval and the PINGRESPs keep the connection up")
    func pingsAreAnswered() async throws {
        _ = try await withClientTestBroker { port in
            var configuration = clientConfiguration(port: port, id: "pinger")
            configuration.keepAlive = .seconds(10)
            configuration.connectTimeout = .seconds(10)
            // The client's timers run on a manual clock: its time moves only when the test
            // advances it, and only once the client is asleep on it. How fast the machine
            // answers does not matter; what is checked is the order of events.
            let clock = ManualClock()
            let client = MQTTClient(configuration: configuration, clock: clock, logger: quietLogger)
            return try await withClients([client]) {
                try await client.waitUntilConnected()
                // The connect timeout is the first sleep; past it, a connected client starts
                // its keep-alive rounds.
                try await waitUntil { clock.sleepers == 1 }
                clock.advance(by: .seconds(10))  // connectTimeout
                for round in 1...10 {
                    // Asleep for one keep-alive interval, with the previous PINGREQ answered.
                    try await waitUntil {
                        clock.sleepers == 1 && clock.nextDeadline == clock.now.advanced(by: .seconds(10))
                    }
                    clock.advance(by: .seconds(10))  // keepAlive
                    try await waitUntil { client.pingResponses == round }
                }
                // Without the PINGRESPs the second interval would have closed the connection
                // and the client would have connected again.
                try await waitUntil { clock.sleepers == 1 }
                #expect(client.connections == 1)
                #expect(client.isConnected)
                #expect(client.pingResponses == 10)
                return true
            }
        }
    }
}
