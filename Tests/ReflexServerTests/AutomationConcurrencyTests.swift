import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ReflexAutomation
import ReflexCore
import ReflexNode
import ReflexServer
import Synchronization
import Testing

/// The automation service under concurrent load from many tasks at once: telemetry through the
/// node's broadcast (as the ingestor publishes it) and operator actions over the HTTP API, all
/// racing. One episode must still give one alarm and one command.
@Suite("Automation service under concurrency", .timeLimit(.minutes(2)))
struct AutomationConcurrencyTests {
    typealias F = AutomationFixture

    static func batch(temperature: Double, at timestamp: Int64) throws -> TelemetryBatch {
        TelemetryBatch(
            device: try DeviceID(validating: "pump-1"),
            samples: [
                Sample(metric: try MetricName(validating: "temperature"), timestamp: timestamp, value: temperature)
            ]
        )
    }

    @Test("10,000 concurrent triggers from 50 tasks give one alarm and one command per episode")
    func concurrentTriggers() async throws {
        try await F.run { fixture, client in
            let start = Int64(Date().timeIntervalSince1970 * 1000)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<50 {
                    group.addTask {
                        for i in 0..<200 {
                            let n = Int64(task * 200 + i)
                            fixture.events.telemetry.publish(
                                try Self.batch(temperature: 90 + Double(n % 7), at: start + n)
                            )
                            if i % 20 == 0 { await Task.yield() }
                        }
                    }
                }
                // Operators read and acknowledge while the triggers race.
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<25 {
                            let list = try await client.execute(
                                uri: "/api/v1/alarms",
                                method: .get,
                                headers: F.bearer(fixture.operatorToken)
                            )
                            #expect(list.status == .ok)
                            let alarms = try F.json(list)["alarms"] as? [[String: Any]] ?? []
                            #expect(alarms.count <= 1, "\(alarms.count) open alarms at once")
                            if let id = alarms.first?["id"] as? String {
                                let ack = try await client.execute(
                                    uri: "/api/v1/alarms/\(id)/acknowledge",
                                    method: .post,
                                    headers: F.bearer(fixture.operatorToken),
                                    body: ByteBuffer(string: "{}")
                                )
                                #expect(ack.status == .ok || ack.status == .conflict)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            // End the episode after every trigger; the service handles telemetry in order, so once
            // the alarm has cleared every earlier batch has been decided.
            fixture.events.telemetry.publish(try Self.batch(temperature: 70, at: start + 20_000))
            let deadline = ContinuousClock.now + .seconds(20)
            while fixture.service.snapshot.alarms.open.isEmpty == false {
                try #require(ContinuousClock.now < deadline, "the episode did not end")
                try await Task.sleep(for: .milliseconds(10))
            }
            let alarms = fixture.service.snapshot.alarms
            #expect(alarms.cleared.count == 1, "alarms raised in one episode: \(alarms.cleared.count)")
            let commands = fixture.publisher.published.withLock { $0 }.filter { $0.topic.hasSuffix("/set_speed") }
            #expect(commands.count == 1, "commands sent in one episode: \(commands.count)")
        }
    }
}
